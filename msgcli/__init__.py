"""msgcli: a one-shot command-line client for the Anthropic Messages API."""

__version__ = "1.0.0"
