"""Mutation check: make each renderer and saver method raise, and show that the suite
notices. Run `python -m tests.mutants` (a few minutes; `python -m tests.mutants
servertools` runs only the mutants whose names hold a word given); it prints one line
per mutant and exits 1 if any mutant survives.

Each mutant runs the in-process suite with the method replaced by one that raises; the
test helpers fail on exit 1 (internal error), so a crash in any of these can never
pass unnoticed.
"""

import importlib
import subprocess
import sys

MUTANTS = [
    "msgcli.output.render:TextRenderer.feed", "msgcli.output.render:TextRenderer.finish",
    "msgcli.output.render:TextRenderer._start", "msgcli.output.render:TextRenderer._emit",
    "msgcli.output.render:text_renderer", "msgcli.output.render:whole",
    "msgcli.output.render:stream",
    "msgcli.output.render:count", "msgcli.output.render:dry_run", "msgcli.output.render:usage_line",
    "msgcli.output.render:tool_calls", "msgcli.output.render:compact_json",
    "msgcli.inputs.conversation:save", "msgcli.output.atomic:write",
    "msgcli.output.atomic:replacing",
    "msgcli.inputs.conversation:assistant_turn", "msgcli.inputs.conversation:dumps",
    "msgcli.output.console:Stdout.write", "msgcli.output.console:Stdout.flush",
    "msgcli.output.console:Stdout.close",
    "msgcli.output.console:Collector.write", "msgcli.output.console:Collector.text",
    # issue 17
    "msgcli.api.caching:mark_breakpoints", "msgcli.api.caching:show_thinking",
    "msgcli.api.server_tools:continuation", "msgcli.api.server_tools:merge",
    "msgcli.api.server_tools:paired", "msgcli.api.server_tools:citation_lines",
    "msgcli.api.usage:json_line", "msgcli.api.usage:cost",
    "msgcli.api.versions:refuse_what_it_rejects",
    "msgcli.api.hints:for_message", "msgcli.api.models:lifecycle_note", "msgcli.api.models:fetch",
    "msgcli.api.models:write_cache", "msgcli.wire.waits:WaitLimits.refuse",
]

# the in-process tests of what the mutants break (issue 17's features, one file each)
TEST_FILES = [
    "tests/test_core.py", "tests/test_features.py", "tests/test_contract.py",
    "tests/test_streaming.py", "tests/test_long_waits.py", "tests/test_show_thinking.py",
    "tests/test_caching.py", "tests/test_usage.py", "tests/test_hints.py",
    "tests/test_api_versions.py", "tests/test_models.py", "tests/test_server_tools.py",
    "tests/test_resilience.py::test_an_answer_that_could_begin_a_key_still_gets_its_newline",
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
    control = "msgcli.output.console:Collector.mutation_control"
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "mutant_plugin.py"), "w") as f:
            f.write(PLUGIN)
        chosen = [m for m in MUTANTS if any(a in m for a in sys.argv[1:])] or MUTANTS
        for mutant in [control, *chosen]:
            module, _, attr = mutant.partition(":")
            importlib.import_module(module)  # a typo in the list fails here, loudly
            env = dict(os.environ, MSGCLI_MUTANT=mutant,
                       PYTHONPATH=os.pathsep.join([folder, os.environ.get("PYTHONPATH", "")]))
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                 "-p", "mutant_plugin", *TEST_FILES],
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
