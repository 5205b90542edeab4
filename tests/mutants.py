"""Mutation check: make each renderer and saver method raise, and show that the suite
notices. Run `python -m tests.mutants` (a few minutes); it prints one line per mutant
and exits 1 if any mutant survives.

Each mutant runs the in-process suite with the method replaced by one that raises; the
test helpers fail on exit 1 (internal error), so a crash in any of these can never
pass unnoticed.
"""

import importlib
import subprocess
import sys

MUTANTS = [
    "msgcli.render:TextRenderer.feed", "msgcli.render:TextRenderer.finish",
    "msgcli.render:TextRenderer._start", "msgcli.render:TextRenderer._emit",
    "msgcli.render:text_renderer", "msgcli.render:whole", "msgcli.render:stream",
    "msgcli.render:count", "msgcli.render:dry_run", "msgcli.render:usage_line",
    "msgcli.render:tool_calls", "msgcli.render:compact_json",
    "msgcli.conversation:save", "msgcli.conversation:write_atomic",
    "msgcli.conversation:assistant_turn", "msgcli.conversation:dumps",
    "msgcli.output:Stdout.write", "msgcli.output:Stdout.flush", "msgcli.output:Stdout.close",
    "msgcli.output:Collector.write", "msgcli.output:Collector.text",
]

PLUGIN = """
import importlib, os
def pytest_configure(config):
    module, _, attr = os.environ["MSGCLI_MUTANT"].partition(":")
    owner = importlib.import_module(module)
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    def mutant(*args, **kwargs):
        raise RuntimeError("mutant")
    setattr(owner, name, mutant)
"""


def main():
    import os
    import tempfile

    survivors = []
    # the control: a new attribute that nothing calls; its run must pass, or "caught"
    # would mean nothing
    control = "msgcli.output:Collector.mutation_control"
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "mutant_plugin.py"), "w") as f:
            f.write(PLUGIN)
        for mutant in [control, *MUTANTS]:
            module, _, attr = mutant.partition(":")
            importlib.import_module(module)  # a typo in the list fails here, loudly
            env = dict(os.environ, MSGCLI_MUTANT=mutant,
                       PYTHONPATH=os.pathsep.join([folder, os.environ.get("PYTHONPATH", "")]))
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                 "-p", "mutant_plugin", "tests/test_core.py", "tests/test_features.py",
                 "tests/test_contract.py", "tests/test_streaming.py"],
                capture_output=True, text=True, env=env)
            caught = proc.returncode == 1
            if mutant == control:
                if proc.returncode != 0:
                    sys.exit(f"the control run failed ({proc.returncode}):\n{proc.stdout}")
                print(f"control  {mutant}: the suite passes", flush=True)
                continue
            print(f"{'caught ' if caught else 'SURVIVED'} {mutant}", flush=True)
            if not caught:
                survivors.append(mutant)
    sys.exit(1 if survivors else 0)


if __name__ == "__main__":
    main()
