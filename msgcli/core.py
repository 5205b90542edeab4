"""One run of msgcli, conducted in five steps: read the input, build the request,
send it, render the reply, save the conversation.

Each step is a call into the module that owns it. Nothing here catches a failure:
steps raise, and msgcli.failures turns what they raise into a line and a status.
"""

import signal
from contextlib import contextmanager

from msgcli import conversation, files, inputs, render, reply, request, status
from msgcli.errors import BadResponseError
from msgcli.output import Collector, Stdout
from msgcli.status import ExitStatus


def credentials(opts=None, console=None):
    """files.credentials for these options; a key read from a file joins the
    redactor at once."""
    keys = files.credentials(opts.api_key_file if opts is not None else None)
    if console is not None:
        console.redactor.add(keys[0])
    return keys


def run(opts, console):
    for path, what in ((opts.conversation, "conversation file"),
                       (opts.output, "output file")):
        if path and not opts.dry_run:
            conversation.check_writable(path, what)
    if opts.conversation and not (opts.dry_run or opts.count_tokens):
        # from reading the file to renaming the new one in: no other run's turn is lost
        with conversation.locked(opts.conversation, console):
            return _run(opts, console)
    return _run(opts, console)


def _run(opts, console):
    keys = credentials(opts, console)
    history = conversation.read(opts)
    turn = inputs.user_turn(opts, console, history)
    req = request.build(opts, history, turn, keys, console.redactor)
    out = (Collector if opts.output else Stdout)(console.redactor)
    console.answer = out
    if opts.dry_run:
        render.dry_run(opts, req, out)
        return ExitStatus.OK
    req.require_credentials()
    from msgcli.transport import Transport

    # until the files are written too: SIGTERM mid-write removes the temp file
    with terminable():
        with Transport(opts.retries, opts.timeout, console,
                       verbose=opts.verbose) as transport:
            message = exchange(opts, req, transport, out, console)
        return _finish(opts, message, console, out, history, turn)


def _finish(opts, message, console, out, history, turn):
    if message is None:  # --count-tokens printed its number
        if opts.output:
            conversation.write_atomic(opts.output, out.text(), "output file")
        return ExitStatus.OK
    code = conclude(opts, message, console)
    if opts.output and code == ExitStatus.OK:
        conversation.write_atomic(opts.output, out.text(), "output file")
    if opts.conversation and message.get("stop_reason") != "refusal" \
            and message.get("content"):
        conversation.save(opts.conversation, history, turn, message, opts.prefill)
    return code


def exchange(opts, req, transport, out, console):
    """Send the request and render the reply to `out`; return the message (None
    for a token count). Whatever was written before a failure stays written."""
    try:
        response = transport.send(req)
        try:
            how = reply.kind(response.status_code, response.headers.get("content-type"))
            if how == reply.STREAM and not opts.count_tokens:
                return render.stream(opts, transport.iter_chunks(response), out, console)
            if how == reply.STREAM:
                raise BadResponseError("the server answered a token count with an "
                                       "event stream")
            raw = transport.read_body(response)
            if opts.count_tokens:
                render.count(opts, raw, reply.input_tokens(raw, response.status_code), out)
                return None
            message = reply.message(raw, response.status_code)
            render.whole(opts, raw, message, out, console)
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


def conclude(opts, message, console):
    """The exit status of a reply, with its usage and any note on stderr."""
    code, note = outcome(opts, message)
    if opts.usage:
        console.line(render.usage_line(message.get("usage")))
    if note:
        console.line(note)
    return code


def outcome(opts, message):
    """(exit status, note for a person or None) of a reply."""
    code, note = status.for_stop_reason(message.get("stop_reason"))
    if code == ExitStatus.TOOL_USE and not render.tool_calls(message):
        note = "the reply stopped for tool_use but holds no tool call"
    if code in opts.ok:  # the script said this answer will do (--ok)
        code = ExitStatus.OK
    return code, note


@contextmanager
def terminable():
    """While a request runs, SIGTERM unwinds like Ctrl-C, so that nothing is left
    half-written; before that, its default action (exit 143) is already right."""
    from msgcli.failures import on_sigterm

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread (embedded use): keep the default
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
