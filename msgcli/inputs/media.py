"""Images and documents as content blocks, with their types sniffed from the bytes.

A file's name can lie; its first bytes rarely do. Truncated files are caught by
their missing end markers, so a half-copied screenshot fails here with exit 2
rather than as a 400 from the API.
"""

import base64
import os

from msgcli.api import files
from msgcli.api.limits import MAX_IMAGE_BASE64_BYTES, MAX_REQUEST_BYTES, megabytes
from msgcli.errors import InputError
from msgcli.inputs.reading import read_file_bytes, read_stdin_bytes

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def base64_length(size):
    return 4 * ((size + 2) // 3)


def is_url(ref):
    return ref.startswith(("http://", "https://"))


def sniff_image(data):
    """The media type of image bytes, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _is_complete(media_type, data):
    if media_type == "image/png":
        return b"IEND" in data[-64:]
    if media_type == "image/jpeg":
        return b"\xff\xd9" in data[-64:]
    if media_type == "image/gif":
        return data.rstrip(b"\x00\r\n\t ").endswith(b";")
    if media_type == "image/webp":
        declared = int.from_bytes(data[4:8], "little") + 8
        return len(data) >= declared
    if media_type == "application/pdf":
        return b"%%EOF" in data[-2048:]
    return True


def _describe(data):
    if not data:
        return "it is empty"
    head = data[:8]
    if head.startswith(b"%PDF"):
        return "it is a PDF (use -d/--document)"
    if head.startswith(b"BM"):
        return "it looks like a BMP image"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "it looks like a HEIC/AVIF image"
    return "its first bytes are " + head.hex(" ")


def _read(ref, what):
    if ref == "-":
        data = read_stdin_bytes(what)
        if data is None:
            raise InputError(f"{what} '-' means stdin, but stdin is a terminal")
        return data, "stdin"
    return read_file_bytes(ref, what, limit=MAX_REQUEST_BYTES), ref


def uploaded_file(ref, uploaded=None):
    """The Files API id `ref` stands for, or None: an id given as such (file_...,
    when no file of that name exists: an existing path wins), or the upload of the
    local file `ref` (`uploaded`: path -> id, from --upload-files)."""
    if uploaded and ref in uploaded:
        return uploaded[ref]
    if files.is_file_id(ref) and not os.path.lexists(ref):
        return ref
    return None


def image_block(ref, uploaded=None):
    """An `image` content block for a path, '-' (stdin), an http(s) URL or a
    Files API id."""
    if is_url(ref):
        return {"type": "image", "source": {"type": "url", "url": ref}}
    file_id = uploaded_file(ref, uploaded)
    if file_id is not None:
        return files.block("image", file_id)
    data, name = _read(ref, "image")
    media_type = sniff_image(data)
    if media_type is None:
        raise InputError(f"image {name!r} is not JPEG, PNG, GIF or WebP: {_describe(data)}")
    if not _is_complete(media_type, data):
        raise InputError(f"image {name!r} looks truncated: the {media_type} end marker "
                         "is missing")
    encoded_size = base64_length(len(data))
    if encoded_size > MAX_IMAGE_BASE64_BYTES:
        raise InputError(
            f"image {name!r} is {len(data):,} bytes, {encoded_size:,} as base64; the API "
            f"accepts at most {MAX_IMAGE_BASE64_BYTES:,} base64 bytes per image "
            "(about 3.75 MB of file): shrink or recompress it")
    encoded = base64.b64encode(data)
    del data  # the file, its base64 and the base64 text need never coexist
    return {"type": "image", "source": {
        "type": "base64", "media_type": media_type, "data": encoded.decode("ascii")}}


def document_block(ref, title=None, uploaded=None):
    """A `document` block: a PDF as base64 (or URL), a UTF-8 text file as plain text,
    a Files API id as a file source.

    `title` is sent as the block's title ('' for none). None means the default: a
    local file's name (its base name: the directories stay private), nothing for
    stdin, a URL or an id."""
    if is_url(ref):
        block = {"type": "document", "source": {"type": "url", "url": ref}}
        if title:
            block["title"] = title
        return block
    file_id = uploaded_file(ref, uploaded)
    if file_id is not None:
        # an uploaded local file keeps the title its base64 block would have had
        if title is None and uploaded and ref in uploaded:
            title = os.path.basename(ref)
        return files.block("document", file_id, title)
    data, name = _read(ref, "document")
    if title is None:
        title = os.path.basename(name) if ref != "-" else None
    if data.startswith(b"%PDF-"):
        if not _is_complete("application/pdf", data):
            raise InputError(f"document {name!r} looks truncated: the PDF has no %%EOF "
                             "marker")
        if base64_length(len(data)) > MAX_REQUEST_BYTES:
            raise InputError(f"document {name!r} is too large: as base64 it exceeds the "
                             f"API's {megabytes(MAX_REQUEST_BYTES)} request limit")
        encoded = base64.b64encode(data)
        del data
        source = {"type": "base64", "media_type": "application/pdf",
                  "data": encoded.decode("ascii")}
    else:
        if b"\x00" in data or sniff_image(data):
            raise InputError(f"document {name!r} is neither a PDF nor a text file: "
                             f"{_describe(data)}")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise InputError(f"document {name!r} is neither a PDF nor UTF-8 text (bad "
                             f"byte at offset {e.start})") from None
        if not text.strip():
            raise InputError(f"document {name!r} is empty")
        source = {"type": "text", "media_type": "text/plain", "data": text}
    block = {"type": "document", "source": source}
    if title:
        block["title"] = title
    return block
