"""msgcli: a one-shot command-line client for the Anthropic Messages API."""

__version__ = "1.0.0"


def main():
    """The console script. Ctrl-C while the modules still load is an interruption
    like any other: exit 130, one line, no traceback."""
    import sys

    try:
        from msgcli.cli import cli

        cli.main(prog_name="msgcli")
    except KeyboardInterrupt:
        try:
            sys.stderr.write("msgcli: interrupted\n")
        except (AttributeError, OSError, ValueError):
            pass
        sys.exit(130)
