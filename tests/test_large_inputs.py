"""Big inputs are encoded piece by piece (request.EncodedBody) and decoded once
(inputs.decode_utf8): the bytes sent and the text read are what the simple way
(json.dumps, bytes.decode, str.rstrip and +) gives."""

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msgcli import request
from msgcli.errors import InputError
from msgcli.files import decode_utf8
from msgcli.inputs import join_prompt

EXAMPLES = int(os.environ.get("MSGCLI_HYPOTHESIS_EXAMPLES", "150"))


def simple_encoding(body):
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=0,
                        max_size=40), min_size=1, max_size=4),
       st.integers(1, 7))
def test_pieces_join_into_json_dumps(texts, piece):
    old_large, old_piece = request._LARGE_STRING, request._PIECE
    request._LARGE_STRING, request._PIECE = 3, piece  # every string large, tiny pieces
    try:
        body = {"model": "m", "messages": [{"role": "user", "content": t} for t in texts]}
        data = request.encode_body(body)
        sent = b"".join(data)
        assert sent == simple_encoding(body)
        assert len(data) == len(sent)
        assert b"".join(data) == sent, "a retry sends the same bytes again"
    finally:
        request._LARGE_STRING, request._PIECE = old_large, old_piece


@pytest.mark.parametrize("text", ["a" * 300_000, "line\n" * 70_000, "é\"\\\x01" * 40_000,
                                  "x" * (request._PIECE - 1) + "😀" + "\n" * 10])
def test_large_strings_encode_exactly(text):
    body = {"messages": [{"role": "user", "content": text}], "max_tokens": 5}
    data = request.encode_body(body)
    assert b"".join(data) == simple_encoding(body)
    assert len(data) == len(simple_encoding(body))


def test_a_lone_surrogate_in_a_large_string_fails_before_sending():
    with pytest.raises(InputError, match="not valid Unicode"):
        request.encode_body({"messages": [{"content": "a" * 100_000 + "\ud800"}]})


def old_join(stdin_bytes, words):
    stdin_text = stdin_bytes.decode("utf-8-sig")
    prompt = " ".join(words)
    parts = [p for p in (stdin_text, prompt) if p and p.strip()]
    if stdin_text and prompt and len(parts) == 2:
        return stdin_text.rstrip("\n") + "\n\n" + prompt
    return parts[0] if parts else ""


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(st.sampled_from("ab \n\t\r\ufeffé"), max_size=12), st.booleans(),
       st.lists(st.sampled_from(["x", " ", "", "\n", "Summarize"]), max_size=3))
def test_stdin_joins_with_the_prompt_as_before(text, bom, words):
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    strip = bool(" ".join(words).strip())
    assert join_prompt(decode_utf8(data, "stdin", strip_newlines=strip), words) == \
        old_join(data, words)


def test_decode_error_names_the_line_and_offset_in_the_file():
    with pytest.raises(InputError, match=r"line 2 \(byte offset 8\)"):
        decode_utf8(b"\xef\xbb\xbfab\ncd\xff", "stdin")
