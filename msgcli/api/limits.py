"""The documented size limits, in one place: what msgcli reads from the user and
from the server is bounded, so no input or reply can exhaust memory.

Sizes are in bytes; "MB" in messages means 2**20 bytes, as the API states its own.
"""

# The Messages API refuses request bodies over 32 MB, so no input larger than
# that can be sent; a file or pipe is read up to this and one byte more.
MAX_REQUEST_BYTES = 32 * 1024 * 1024
# The API measures its per-image limit on the base64 text, not the file.
MAX_IMAGE_BASE64_BYTES = 5 * 1024 * 1024
# A whole reply, after any content decoding. The largest real replies (128k output
# tokens plus server tool results) are a few MB.
MAX_REPLY_BYTES = 64 * 1024 * 1024
# A whole event stream: the largest real streams (128k output tokens, one small
# event per token or two) are about 20 MB.
MAX_STREAM_BYTES = 64 * 1024 * 1024
# The largest real event (a whole tool input or server tool result in one delta)
# is far below this; a line or event that grows past it is a broken stream, not an
# answer still coming.
MAX_SSE_LINE_BYTES = 16 * 1024 * 1024
MAX_SSE_EVENT_BYTES = 16 * 1024 * 1024
# A Message Batch holds at most 100,000 requests or 256 MB, "whichever is reached
# first"; larger input is split over several batches. The API does not say whether
# its MB is 10**6 or 2**20 bytes, so the smaller reading is used. Tests lower both
# (monkeypatching these names) to show the split without a 256 MB input.
MAX_BATCH_REQUESTS = 100_000
MAX_BATCH_BYTES = 256 * 1000 * 1000
# One line of a batch's results file: one whole reply, with its small envelope.
MAX_RESULT_LINE_BYTES = MAX_REPLY_BYTES + 64 * 1024


def megabytes(n):
    return f"{n / 2**20:.1f} MB"
