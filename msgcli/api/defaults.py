"""What a request gets when neither a flag nor a messages file says otherwise.

Read by the request builder and by the options, which show them in --help; kept
free of imports, so --help pays nothing for them."""

# The rule in docs/newer-models.md: newest in SDK 2.12's table, no retirement date
# in SDK 2.14's, takes a prefill (4.6+ refuse one). opus-4-5 retires 2027-01-22.
DEFAULT_MODEL = "claude-haiku-4-5"
# The same model on the cloud platforms, by their ids (docs/platforms.md); Foundry
# deploys Claude under the Anthropic names, and bedrock-mantle takes no default.
BEDROCK_DEFAULT_MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
VERTEX_DEFAULT_MODEL = "claude-haiku-4-5@20251001"
DEFAULT_MAX_TOKENS = 4096
DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_API_VERSION = "2023-06-01"
