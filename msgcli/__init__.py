"""msgcli: a one-shot command-line client for the Anthropic Messages API."""

import gc

__version__ = "1.0.0"

# Start-up (click, msgcli's command, the parsing of the command line) creates some
# 13,000 objects that all live until the process exits. At the collector's default
# threshold (700) it examines them again and again as they are created: ~1.5 ms of
# `msgcli --version`, for no garbage. So start-up runs with this threshold, and the
# run proper with the default one, start-up's objects set aside (see end_of_startup).
STARTUP_GC_THRESHOLD = 50_000
_run_thresholds = []  # the thresholds to restore when start-up is over


def main():
    """The console script. Ctrl-C while the modules still load is an interruption
    like any other: exit 130, one line, no traceback."""
    import sys

    _run_thresholds[:] = gc.get_threshold()
    gc.set_threshold(STARTUP_GC_THRESHOLD)
    try:
        from msgcli.cli.command import cli

        cli.main(prog_name="msgcli")
    except KeyboardInterrupt:
        try:
            sys.stderr.write("msgcli: interrupted\n")
        except (AttributeError, OSError, ValueError):
            pass
        sys.exit(130)
    finally:
        # what is alive now dies with the process: the collections the interpreter
        # makes as it shuts down (~10 ms with requests loaded) need not examine it
        gc.freeze()


def end_of_startup():
    """The command line is parsed: start-up's little garbage (such as the
    pure-Python half of datetime, which click imports, once its C module has
    replaced it) is collected once, before a large input is read, and what
    survives is frozen: no later collection examines it again (gc.freeze's own
    use). The run collects at the default threshold, so a long one (a stream,
    --jsonl) frees its reference cycles as it goes. Nothing to do when main()
    did not start the process (msgcli.cli.command used alone, as the tests do)."""
    if _run_thresholds:
        gc.set_threshold(*_run_thresholds)
        del _run_thresholds[:]
        gc.collect()
        gc.freeze()
