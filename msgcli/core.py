"""One run of msgcli, conducted in five steps: read the input, build the request,
send it, render the reply, save the conversation.

A reply that pauses its turn (pause_turn, from a server tool) is continued by
sending the conversation back, up to servertools.MAX_CONTINUATIONS times; the
parts make one answer and one assistant turn. --deadline bounds the steps up to
the end of the answer: saving what was received is never cut short.

Each step is a call into the module that owns it. Nothing here catches a failure:
steps raise, and msgcli.cli.failure_gate turns what they raise into a line and a status.
"""

import signal
import time
from contextlib import contextmanager

from msgcli import status
from msgcli.api import reply, request, server_tools
from msgcli.errors import BadResponseError
from msgcli.inputs import conversation
from msgcli.inputs import reading as inputs_reading
from msgcli.inputs import turn as inputs_turn
from msgcli.output import atomic, render
from msgcli.output.console import Collector, Stdout
from msgcli.status import ExitStatus
from msgcli.wire.waits import alarm


def credentials(opts=None, console=None):
    """The credential a request sends, as (API key, auth token), at most one of them
    set: files.credentials for these options; a key read from a file joins the
    redactor at once. With both, the key is sent and the token dropped, as SDK 2.16
    does: two credentials leave the API to pick one, and a request should say whose
    it is. Said on stderr when `console` is given."""
    key, token = inputs_reading.credentials(opts.api_key_file if opts is not None else None)
    if console is not None:
        console.redactor.add(key)
    if key and token:
        if console is not None:
            source = "--api-key-file" if opts is not None and opts.api_key_file \
                else "ANTHROPIC_API_KEY"
            console.line(f"warning: both {source} and ANTHROPIC_AUTH_TOKEN are set; "
                         f"sending the API key only (x-api-key): unset {source} to use "
                         "the token")
        token = None
    return key, token


def uploaded_media(opts, console, keys):
    """With --upload-files, {path: file id} of the local -d/-i files, uploaded once
    (msgcli.files.uploads); else None, and they go as base64."""
    if not opts.upload_files or not (opts.image or opts.document):
        return None
    from msgcli.files import uploads

    return uploads.upload_media(opts, console, keys)


def run(opts, console):
    deadline = None if opts.deadline is None else time.monotonic() + opts.deadline
    if opts.list_models:
        with alarm(opts.deadline):
            return list_models(opts, console)
    for path, what in ((opts.conversation, "conversation file"),
                       (opts.output, "output file")):
        if path and not opts.dry_run:
            atomic.check_writable(path, what)
    if opts.conversation and not (opts.dry_run or opts.count_tokens):
        # from reading the file to renaming the new one in: no other run's turn is lost
        with conversation.locked(opts.conversation, console):
            return _run(opts, console, deadline)
    return _run(opts, console, deadline)


def platform_for(opts, console):
    """The platform the options choose (msgcli.platforms), or None for the Anthropic
    API with a key, which never loads that room."""
    if opts.platform is None:
        return None
    from msgcli import platforms

    return platforms.load(opts, console)


def _run(opts, console, deadline=None):
    with alarm(None if deadline is None else deadline - time.monotonic()) as timer:
        platform = platform_for(opts, console)
        keys = credentials(opts, console)
        if platform is not None:
            keys = platform.credentials(keys)
        history = conversation.read(opts)
        turn = inputs_turn.user_turn(opts, console, history,
                                     uploaded_media(opts, console, keys))
        req = request.build(opts, history, turn, keys, console.redactor)
        if platform is not None:
            req = platform.prepare(req)
        out = (Collector if opts.output else Stdout)(console.redactor)
        console.answer = out
        if opts.dry_run:
            render.dry_run(opts, req.shown(), out)
            return ExitStatus.OK
        req.require_credentials()
        if platform is not None:
            platform.announce()
        from msgcli.api.models import lifecycle_note
        from msgcli.wire.transport import Transport

        note = lifecycle_note(req.body.get("model"), is_default=opts.model is None and
                              req.body.get("model") == request.DEFAULT_MODEL)
        if note:
            console.line(note)
        # until the files are written too: SIGTERM mid-write removes the temp file
        with terminable():
            with Transport(opts.retries, opts.timeout, console, verbose=opts.verbose,
                           max_wait=opts.max_wait, deadline=deadline) as transport:
                try:
                    message = converse(opts, req, transport, out, console)
                except reply.ApiError as e:
                    from msgcli.api import files

                    raise files.gone(e, files.referred_ids(req.body),
                                     files.GONE_HINT) from None
            timer.disarm()  # what was received is saved whatever the time
            return _finish(opts, message, console, out, history, turn, transport.request_id)


def _finish(opts, message, console, out, history, turn, request_id=None):
    if message is None:  # --count-tokens printed its number
        if opts.output:
            atomic.write(opts.output, out.text(), "output file")
        return ExitStatus.OK
    if opts.citations:
        for line in server_tools.citation_lines(message):
            console.raw(line + "\n")
    code = conclude(opts, message, console, request_id)
    if opts.output and code == ExitStatus.OK:
        atomic.write(opts.output, out.text(), "output file")
    if opts.conversation and message.get("stop_reason") != "refusal" \
            and message.get("content"):
        conversation.save(opts.conversation, history, turn, message, opts.prefill)
    return code


def converse(opts, req, transport, out, console):
    """exchange(), and while the reply pauses its turn, the conversation sent back
    with the turn so far; returns the parts as one message."""
    message = exchange(opts, req, transport, out, console)
    try:
        for part in range(1, server_tools.MAX_CONTINUATIONS + 1):
            if message is None or message.get("stop_reason") != "pause_turn":
                break
            body = dict(req.body, messages=server_tools.continuation(
                req.body["messages"], opts.prefill, message.get("content") or []))
            later = exchange(opts, req.with_body(body), transport, out, console, part=part)
            message = server_tools.merge(message, later)
    except BaseException:
        out.close()  # what a paused part held back is written before the failure
        raise
    return message


def list_models(opts, console):
    from msgcli.api import models

    keys = credentials(opts, console)
    platform = platform_for(opts, console)
    if platform is not None:  # federation: a token for the run (others refuse the list)
        keys, betas = platform.static(opts.dry_run)
        opts = opts.replace(beta=opts.beta + betas)
    headers = request.headers_for(opts, keys, console.redactor)
    base_url = opts.base_url or request.DEFAULT_BASE_URL
    out = (Collector if opts.output else Stdout)(console.redactor)
    if opts.dry_run:
        shown = request.Request(models.page_url(base_url), headers, method="GET")
        render.dry_run(opts, shown, out)
        return ExitStatus.OK
    request.require_credentials(headers)
    models.list_models(opts, headers, base_url, console, out)
    out.close()
    if opts.output:
        atomic.write(opts.output, out.text(), "output file")
    return ExitStatus.OK


def exchange(opts, req, transport, out, console, part=0):
    """Send the request and render the reply to `out`; return the message (None
    for a token count). Whatever was written before a failure stays written.
    `part` > 0 renders the continuation of a paused turn."""
    try:
        response = transport.send(req)
        try:
            decode = req.stream_decoder  # a platform's stream that is not SSE
            how = (reply.kind if decode is None else decode.kind)(
                response.status_code, response.headers.get("content-type"))
            if how == reply.STREAM and not opts.count_tokens:
                chunks = transport.iter_chunks(response, framed=decode is None)
                if decode is not None:
                    chunks = decode(chunks)
                return render.stream(opts, chunks, out, console, part=part)
            if how == reply.STREAM:
                raise BadResponseError("the server answered a token count with an "
                                       "event stream")
            raw = transport.read_body(response)
            if opts.count_tokens:
                render.count(opts, raw, reply.input_tokens(raw, response.status_code), out)
                return None
            message = reply.message(raw, response.status_code)
            render.whole(opts, raw, message, out, console, part=part)
            return message
        finally:
            response.close()
    except BaseException:
        # text held back in case it began a credential is shown after all
        try:
            out.close()
        except OSError:
            pass
        raise


def conclude(opts, message, console, request_id=None):
    """The exit status of a reply, with its usage and any note on stderr."""
    code, note = outcome(opts, message)
    if opts.usage_json:
        from msgcli.api.usage import json_line

        console.raw(json_line(message, request_id, opts.cost, opts.model) + "\n")
    elif opts.usage or opts.cost is not None:
        console.line(render.usage_line(message.get("usage"), opts.cost, message,
                                       opts.model))
    if note:
        console.line(note)
    return code


def outcome(opts, message):
    """(exit status, note for a person or None) of a reply."""
    code, note = status.for_stop_reason(message.get("stop_reason"))
    if code == ExitStatus.MAX_TOKENS and opts.max_tokens == 0:
        code, note = ExitStatus.OK, None  # -t 0 pre-warms a cache: no text was asked for
    if code == ExitStatus.TOOL_USE and not render.tool_calls(message):
        note = "the reply stopped for tool_use but holds no tool call"
    if code in opts.ok:  # the script said this answer will do (--ok)
        code = ExitStatus.OK
    return code, note


@contextmanager
def terminable():
    """While a request runs, SIGTERM unwinds like Ctrl-C, so that nothing is left
    half-written; before that, its default action (exit 143) is already right."""
    from msgcli.errors import on_sigterm

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread (embedded use): keep the default
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
