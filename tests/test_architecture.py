"""The shape of the house: the rooms are the architecture, each module says what it
owns, the parts never import the rooms above them, and the modules import each other
without cycles (lazy imports inside functions count too).
--help and --version load nothing of the request path."""

import ast
import subprocess
import sys
import warnings

import pytest

from tests.conftest import REPO, clean_env

PACKAGE = REPO / "msgcli"
# every module by its dotted name below msgcli: "core", "wire.transport", "cli" (a
# room's __init__)
MODULES = sorted(
    ".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py") if p.stem != "__main__" and p != PACKAGE / "__init__.py")
ROOMS = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
# The layers, from the top: the command line; the modes that conduct a run (one
# request, many prompts, batches); the parts they conduct. A part never imports a
# conductor or the command line, so a new platform or mode is added from above.
CONDUCTORS = {"cli", "core", "jsonl", "batch", "files"}
PARTS = {"wire", "stream", "api", "output", "inputs", "platforms"}
SOFT_SIZE = 500  # lines: past this a module is worth a look, not a failure


def path_of(name):
    base = PACKAGE.joinpath(*name.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def imports_of(name):
    """The msgcli modules `name` imports, lazily or not, by dotted name below msgcli."""
    tree = ast.parse(path_of(name).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "msgcli" or node.module.startswith("msgcli."):
                base = node.module.removeprefix("msgcli").removeprefix(".")
                for alias in node.names:
                    dotted = f"{base}.{alias.name}" if base else alias.name
                    found.add(dotted if dotted in MODULES else base)
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("msgcli.") for a in node.names
                         if a.name.startswith("msgcli."))
    found.discard(name)
    found.discard("")
    return found


def room_of(name):
    return name.split(".")[0]


def test_the_rooms_are_the_architecture():
    """The tree itself reads as the architecture: no module is left beside the rooms but
    the conductor of one request and the shared vocabulary (exit statuses, errors)."""
    loose = sorted(m for m in MODULES if "." not in m and m not in ROOMS)
    assert loose == ["core", "errors", "status"], loose
    assert set(ROOMS) == (CONDUCTORS | PARTS) - {"core"}


def test_no_import_cycles():
    graph = {name: imports_of(name) for name in MODULES}
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


@pytest.mark.parametrize("name", [m for m in MODULES if room_of(m) in PARTS])
def test_parts_never_import_the_conductors(name):
    """wire, stream, api, inputs and output serve every mode and know none of them:
    they never import the command line, core, jsonl or batch (lazily neither)."""
    upward = sorted(m for m in imports_of(name) if room_of(m) in CONDUCTORS)
    assert not upward, f"{name} imports {upward}, a room above it"


@pytest.mark.parametrize("name", ["errors", "status"])
def test_the_shared_vocabulary_imports_no_room(name):
    """Exit statuses and errors are known to every room, so they import none."""
    assert imports_of(name) <= {"status"}, imports_of(name)


@pytest.mark.parametrize("name", MODULES)
def test_module_says_what_it_owns(name):
    source = path_of(name).read_text()
    assert ast.get_docstring(ast.parse(source)), f"{name} does not say what it owns"
    lines = len(source.splitlines())
    if lines > SOFT_SIZE:
        warnings.warn(f"{name} has {lines} lines: worth a look whether it does one job",
                      stacklevel=1)


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
    assert "msgcli.cli.command" in loaded
    # (shutil is not listed: click 8.1's help formatter imports it itself)
    # (textwrap: msgcli.cli.helpformat wraps the help itself)
    for heavy in ("requests", "urllib3", "msgcli.core", "msgcli.wire.transport", "json",
                  "signal", "textwrap"):
        assert heavy not in loaded - baseline, f"{flag} imports {heavy}"


def test_a_plain_round_trip_loads_only_what_it_uses(api):
    """A prompt in, an answer out: what only a failure, another mode or another
    feature needs is loaded when it is needed, not on every run."""
    api.reply()
    loaded = loaded_modules(run_main("Hi"), env=clean_env(api.base))
    assert len(api.log) == 1 and "msgcli.wire.transport" in loaded
    for unused in ("msgcli.wire.neterrors", "msgcli.api.hints", "msgcli.jsonl.runner",
                   "msgcli.batch.commands", "msgcli.batch.endpoints", "msgcli.jsonl.lines",
                   "msgcli.inputs.media", "msgcli.api.usage", "secrets", "msgcli.platforms"):
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
