"""The shape of the house: each module says what it owns, stays small, and the
modules import each other without cycles (lazy imports inside functions count too).
--help and --version load nothing of the request path."""

import ast
import subprocess
import sys

import pytest

from tests.conftest import REPO

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


def loaded_modules(code):
    proc = subprocess.run([sys.executable, "-c", code + "\nimport sys\n"
                           "sys.stderr.write(' '.join(sorted(sys.modules)))\n"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    return set(proc.stderr.split())


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_load_nothing_of_the_request_path(flag):
    # whatever the interpreter itself loads at start-up (site hooks) is not ours
    baseline = loaded_modules("pass")
    loaded = loaded_modules(f"import sys\nsys.argv = ['msgcli', {flag!r}]\n"
                            "from msgcli import main\ntry:\n    main()\n"
                            "except SystemExit:\n    pass")
    assert "msgcli.cli" in loaded
    # (shutil is not listed: click 8.1's help formatter imports it itself)
    # (textwrap: msgcli.helpformat wraps the help itself)
    for heavy in ("requests", "urllib3", "msgcli.core", "msgcli.transport", "json",
                  "signal", "textwrap"):
        assert heavy not in loaded - baseline, f"{flag} imports {heavy}"
