"""The shape of the house: each module says what it owns, stays small, and the
modules import each other without cycles (lazy imports inside functions count too).
--help and --version load nothing of the request path."""

import ast
import subprocess
import sys

import pytest

from tests.conftest import REPO, clean_env

PACKAGE = REPO / "msgcli"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__main__")


def imports_of(name):
    tree = ast.parse((PACKAGE / f"{name}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "msgcli":
                found.update(alias.name for alias in node.names if alias.name in MODULES)
            elif node.module.startswith("msgcli."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names
                         if a.name.startswith("msgcli."))
    found.discard(name)
    found.discard("__init__")
    return found


def test_no_import_cycles():
    graph = {name: imports_of(name) for name in MODULES if name != "__init__"}
    state = {}

    def visit(node, path):
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", "import cycle: " + " -> ".join(path + [node])
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            visit(target, path + [node])
        state[node] = "done"

    for name in graph:
        visit(name, [])


@pytest.mark.parametrize("name", MODULES)
def test_module_has_a_docstring_and_stays_small(name):
    source = (PACKAGE / f"{name}.py").read_text()
    assert ast.get_docstring(ast.parse(source)), f"{name}.py does not say what it owns"
    assert len(source.splitlines()) <= 320, f"{name}.py has grown past ~300 lines"


def loaded_modules(code, env=None):
    proc = subprocess.run([sys.executable, "-c", code + "\nimport sys\n"
                           "sys.stderr.write(' '.join(sorted(sys.modules)))\n"],
                          capture_output=True, text=True, cwd=REPO, timeout=60, env=env)
    return set(proc.stderr.split())


def run_main(*args):
    return (f"import sys\nsys.argv = ['msgcli', *{list(args)!r}]\n"
            "from msgcli import main\ntry:\n    main()\nexcept SystemExit:\n    pass")


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_load_nothing_of_the_request_path(flag):
    # whatever the interpreter itself loads at start-up (site hooks) is not ours
    baseline = loaded_modules("pass")
    loaded = loaded_modules(run_main(flag))
    assert "msgcli.cli" in loaded
    # (shutil is not listed: click 8.1's help formatter imports it itself)
    # (textwrap: msgcli.helpformat wraps the help itself)
    for heavy in ("requests", "urllib3", "msgcli.core", "msgcli.transport", "json",
                  "signal", "textwrap"):
        assert heavy not in loaded - baseline, f"{flag} imports {heavy}"


def test_a_plain_round_trip_loads_only_what_it_uses(api):
    """A prompt in, an answer out: what only a failure, another mode or another
    feature needs is loaded when it is needed, not on every run."""
    api.reply()
    loaded = loaded_modules(run_main("Hi"), env=clean_env(api.base))
    assert len(api.log) == 1 and "msgcli.transport" in loaded
    for unused in ("msgcli.neterrors", "msgcli.hints", "msgcli.many", "msgcli.batch_run",
                   "msgcli.batches", "msgcli.jsonl", "msgcli.media", "msgcli.usage",
                   "secrets"):
        assert unused not in loaded, f"a plain round trip imports {unused}"


def test_the_run_collects_reference_cycles_as_it_goes(api):
    """main() defers collections while msgcli starts, not after: once the command
    line is parsed, a run (a stream, --jsonl) frees its reference cycles as it goes,
    here within a few thousand allocations."""
    api.reply()
    code = run_main("Hi") + """
import gc, weakref
class Node:
    pass
first = Node()
first.self = first
alive = weakref.ref(first)
del first
for _ in range(5_000):
    node = Node()
    node.self = node
sys.stderr.write(f"{gc.isenabled()} {alive() is None}")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=60, env=clean_env(api.base))
    assert len(api.log) == 1
    assert proc.stderr == "True True", proc.stderr
