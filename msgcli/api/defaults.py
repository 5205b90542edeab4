"""What a request gets when neither a flag nor a messages file says otherwise.

Read by the request builder and by the options, which show them in --help; kept
free of imports, so --help pays nothing for them."""

# The rule in docs/newer-models.md: newest in SDK 2.12's table, no retirement date
# in SDK 2.14's, takes a prefill (4.6+ refuse one). opus-4-5 retires 2027-01-22.
DEFAULT_MODEL = "claude-haiku-4-5"
DEFAULT_MAX_TOKENS = 4096
DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_API_VERSION = "2023-06-01"
