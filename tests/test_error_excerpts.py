"""A server's body or an exception's text quoted in an error message: every secret
is redacted however the quote writes it (JSON escapes, Python-repr escapes, control
characters escaped), and before it is cut, so that no secret's start shows."""

import json

import pytest

from msgcli.api.reply import ApiError
from msgcli.output.console import Console
from msgcli.output.redaction import Redactor, excerpt, redact_json
from tests.conftest import FAKE_KEY
from tests.support.hostile_server import reply

TOKEN = "TOKENSECRETVALUE12345678"


def _escaped(secret):
    """`secret` as JSON may write it: its first letter as a \\u escape."""
    return f"\\u{ord(secret[0]):04x}" + secret[1:]


def _forbidden(text, secret):
    assert secret not in text
    assert secret[1:] not in text  # the escaped forms keep all but the first letter
    assert secret[:8] not in text  # nor a start left by a cut


@pytest.mark.parametrize("jsonl", [False, True], ids=["stderr", "jsonl"])
def test_an_escaped_key_in_an_unexpected_error_body_is_redacted(hostile, invoke, jsonl):
    body = '{"message": "' + _escaped(FAKE_KEY) + '"}'
    server = hostile(reply(body, status="403 Forbidden"))
    args = ["--jsonl", "--retries", "0"] if jsonl else ["Hi"]
    r = invoke(args, input=b'"Hi"\n' if jsonl else b"", base_url=server.url)
    assert r.code != 0
    assert "not an API error" in (r.stdout if jsonl else r.stderr)
    for text in (r.stdout, r.stderr):
        _forbidden(text, FAKE_KEY)
    assert "[REDACTED]" in (r.stdout if jsonl else r.stderr)


@pytest.mark.parametrize("jsonl", [False, True], ids=["stderr", "jsonl"])
def test_a_token_the_excerpt_would_cut_is_redacted_whole(hostile, invoke, jsonl):
    body = '{"message": "' + "x" * 90 + TOKEN + '"}'
    server = hostile(reply(body, status="403 Forbidden"))
    args = ["--jsonl", "--retries", "0"] if jsonl else ["Hi"]
    r = invoke(args, input=b'"Hi"\n' if jsonl else b"", base_url=server.url,
               env={"ANTHROPIC_AUTH_TOKEN": TOKEN, "ANTHROPIC_API_KEY": None})
    assert r.code != 0
    for text in (r.stdout, r.stderr):
        assert "TOKENSEC" not in text, text


def test_a_secret_with_a_control_character_is_redacted_before_it_is_escaped(capsys):
    # msgcli refuses such a value in a header, but a -H value or a server's echo
    # of it may hold one: the escape (or the line break made a space) hides it
    secret = "TOKENSECRET\rVALUE12345678"
    redactor = Redactor([secret])
    Console(redactor).line(f"bad token {secret} here")
    assert capsys.readouterr().err == "msgcli: bad token [REDACTED] here\n"
    error = ApiError(11, 401, "authentication_error", f"bad token {secret} here", None)
    assert "bad token [REDACTED] here" in error.message
    assert "TOKENSECRET" not in error.message and "VALUE1234" not in error.message


@pytest.mark.parametrize("written", [
    pytest.param(lambda s: json.dumps(s), id="json"),
    pytest.param(lambda s: json.dumps(s, ensure_ascii=True).replace("/", "\\/"), id="json-slash"),
    pytest.param(lambda s: "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else
                                   json.dumps(c)[1:-1] for c in s), id="json-all-escaped"),
    pytest.param(repr, id="repr"),
    pytest.param(lambda s: repr(json.dumps(s)), id="repr-of-json"),
    pytest.param(lambda s: s.replace("\r", "\\x0d"), id="escaped-control"),
])
def test_the_redactor_finds_a_secret_however_it_is_escaped(written):
    secret = "sec/ret\r\"quote\\back-é-😀-END"
    redactor = Redactor([secret])
    text = f"before {written(secret)} after"
    for redacted in (redactor.escaped(text), excerpt(text, 200)):
        assert "[REDACTED]" in redacted
        # what is left are the quotes around the secret, if any
        assert redacted.replace("\"", "").replace("'", "") == "before [REDACTED] after", \
            (text, redacted)


def test_an_escaped_secret_in_a_result_line_string_is_redacted_and_stays_json():
    secret = "TOKEN\rSECRET-VALUE"
    line = {"error": {"message": "x TOKEN\\x0dSECRET-VALUE y"}}
    out = redact_json(Redactor([secret]), json.dumps(line), line)
    assert json.loads(out) == {"error": {"message": "x [REDACTED] y"}}


def test_an_excerpt_is_cut_after_redacting_and_never_inside_a_redaction():
    Redactor([TOKEN])
    text = "x" * 75 + TOKEN + " more"
    assert excerpt(text, 80) == "x" * 75 + "[REDACTED]"
    assert excerpt(text.encode(), 70) == "x" * 70
    assert excerpt("a  b\n c", 80) == "a b c"
