"""Big inputs are encoded piece by piece (request.EncodedBody) and decoded once
(inputs.decode_utf8): the bytes sent and the text read are what the simple way
(json.dumps, bytes.decode, str.rstrip and +) gives."""

import io
import json
import os
import sys
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msgcli.api import request
from msgcli.errors import InputError
from msgcli.inputs import reading as inputs_reading
from msgcli.inputs.reading import decode_utf8
from msgcli.inputs.turn import join_prompt

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


def stdin_of(data):
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"\n", b" ", b"\xef\xbb\xbf", "é".encode(),
                                 "€".encode(), "😀".encode(), b"\xff", b"\xe2\x82",
                                 b"\xc3"]), max_size=14),
       st.booleans(), st.integers(1, 5))
def test_stdin_read_in_pieces_is_stdin_decoded_whole(parts, strip, piece):
    """The same text, or the same error, as decoding all of stdin at once, wherever
    the pieces split it (inside a character, a BOM, a run of newlines)."""
    data = b"".join(parts)
    try:
        expected = decode_utf8(data, "stdin", strip_newlines=strip)
    except InputError as e:
        expected = e
    old_stdin, old_piece = sys.stdin, inputs_reading.TEXT_PIECE_BYTES
    sys.stdin, inputs_reading.TEXT_PIECE_BYTES = stdin_of(data), piece
    try:
        got = inputs_reading.read_stdin_text("prompt", "stdin", strip_newlines=strip)
    except InputError as e:
        got = e
    finally:
        sys.stdin, inputs_reading.TEXT_PIECE_BYTES = old_stdin, old_piece
    if isinstance(expected, InputError):
        assert isinstance(got, InputError) and str(got) == str(expected)
    else:
        assert str(got) == expected
        assert isinstance(got, str if len(data) <= piece else (str, inputs_reading.LargeText))


def test_stdin_over_the_limit_is_refused_in_pieces(monkeypatch):
    """Read up to the limit and one byte more, never further (an endless stdin is
    refused, not held), and too big is said before not UTF-8."""
    monkeypatch.setattr(sys, "stdin", stdin_of(b"\xff" + b"a" * 40))
    monkeypatch.setattr(inputs_reading, "TEXT_PIECE_BYTES", 8)
    with pytest.raises(InputError, match="over"):
        inputs_reading.read_stdin_text("prompt", "stdin", limit=32)
    assert sys.stdin.buffer.tell() == 33
    monkeypatch.setattr(sys, "stdin", stdin_of(b"a" * 32))
    assert str(inputs_reading.read_stdin_text("prompt", "stdin", limit=32)) == "a" * 32


BIG = ("\ufeff" + "x" * (inputs_reading.TEXT_PIECE_BYTES - 1) + "é" + "line é😀\n" * 200_000
       + "\n\n").encode()


def test_big_stdin_is_sent_as_read(api, invoke):
    api.reply()
    assert invoke(["Summarize"], input=BIG).code == 0
    sent = api.bodies()[0]["messages"][0]["content"]
    assert sent == old_join(BIG, ["Summarize"])


@pytest.mark.parametrize("args", [["--dry-run", "--json"], ["-c", "{dir}/c.json"]])
def test_big_stdin_shown_and_saved_as_one_string(api, invoke, tmp_path, args):
    api.reply()
    r = invoke([a.format(dir=tmp_path) for a in args] + ["Summarize"], input=BIG)
    assert r.code == 0
    shown = json.loads(r.stdout) if "--dry-run" in args else \
        {"messages": json.loads((tmp_path / "c.json").read_text())}
    assert shown["messages"][0]["content"] == old_join(BIG, ["Summarize"])


def test_big_stdin_is_never_held_twice(monkeypatch):
    """From stdin to the last byte of the request body, the prompt exists once:
    read and decoded a piece at a time, joined with the PROMPT without a copy,
    encoded a piece at a time. (What Python allocates, not RSS: no timing.)"""
    size = 8 * 1024 * 1024
    monkeypatch.setattr(sys, "stdin", stdin_of(b"The quick brown fox.\n" * (size // 21)))
    tracemalloc.start()
    try:
        text = join_prompt(inputs_reading.read_stdin_text("prompt", "stdin", strip_newlines=True),
                           ["Summarize"])
        body = request.encode_body({"messages": [{"role": "user", "content": text}]})
        sent = sum(len(chunk) for chunk in body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(text, inputs_reading.LargeText)
    assert sent > size - 42
    assert peak < 1.25 * size, f"{peak / size:.2f} times the input at the peak"


@pytest.mark.parametrize("large", [False, True])
def test_text_like_the_large_string_placeholder_is_sent_as_is(large):
    from msgcli.api.request import encode_body

    body = {"messages": [{"role": "user", "content": "\ue000msgcli-large-string-0\ue000"}]}
    if large:
        body["system"] = "x" * 100_000
    assert json.loads(b"".join(encode_body(body))) == body
def test_a_big_turn_is_saved_without_a_copy(tmp_path):
    """-c: the conversation file is written from the strings the request was sent
    from, a piece at a time (atomic.replacing), never joined, dumped or encoded
    whole; the file is what conversation.dumps() gives, byte for byte."""
    from msgcli.inputs import conversation

    size = 8 * 1024 * 1024
    text = inputs_reading.LargeText(["The quick brown fox.\n" * (size // 42),
                                     "é\"\\\x01😀 " * 10, "jumps.\n" * (size // 14)])
    history = conversation.History([{"role": "user", "content": "Hi " * 30_000},
                                    {"role": "assistant", "content": "Hello"}],
                                   {"system": "be brief"}, is_object=True)
    turn = {"role": "user", "content": text}
    message = {"content": [{"type": "text", "text": "Done ✓"}], "stop_reason": "end_turn"}
    path = tmp_path / "c.json"
    tracemalloc.start()
    try:
        conversation.save(str(path), history, turn, message)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert path.read_bytes() == conversation.dumps(history.to_json_value()).encode()
    assert json.loads(path.read_bytes())["messages"][2]["content"] == str(text)
    assert peak < 0.25 * size, f"{peak / size:.2f} times the turn at the peak"


def test_a_messages_file_is_not_held_three_times(tmp_path):
    """-f: the file's bytes are let go once decoded, before the JSON is parsed: its
    bytes, text and parsed value are never all held at once. (Read here as
    pathlib reads it, into a buffer of the file's size: read_file_bytes' buffer of
    the 32 MB limit would be the peak, in tracemalloc's eyes though not in RSS.)"""
    from msgcli.inputs import conversation

    path = tmp_path / "m.json"
    path.write_text(json.dumps([{"role": "user",
                                 "content": "The quick brown fox.\n" * 400_000}]))
    size = path.stat().st_size
    tracemalloc.start()
    try:
        history = conversation.load(path.read_bytes(), str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert history.messages[0]["content"] == "The quick brown fox.\n" * 400_000
    assert peak < 2.4 * size, f"{peak / size:.2f} times the file at the peak"
