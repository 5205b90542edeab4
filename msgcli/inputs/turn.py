"""The new user turn, from what the user gives: stdin's text and the PROMPT words,
tool results, images and documents.

Everything here fails with InputError (exit 2), before any byte is sent.
"""

from msgcli.errors import InputError
from msgcli.inputs.reading import LargeText, read_stdin_text, stdin_is_terminal


def _blank(text):
    return not text or text.isspace()  # as `not text.strip()`, without copying it


def join_prompt(stdin_text, words):
    """The user's text: stdin data first, then a blank line, then the instruction.

    Built in one join: a big stdin is copied once, not once per `+`; a LargeText
    (a stdin too big to copy) is not copied at all, the instruction joins its pieces."""
    prompt = " ".join(words)
    parts = [p for p in (stdin_text, prompt) if not _blank(p)]
    if len(parts) == 2:
        if isinstance(stdin_text, LargeText):
            return stdin_text.rstrip("\n") + "\n\n" + prompt
        return "".join((stdin_text.rstrip("\n"), "\n\n", prompt))
    return parts[0] if parts else ""


def media_blocks(opts, uploaded=None):
    """The -i/-d blocks; `uploaded` maps local paths to their Files API ids
    (--upload-files)."""
    if not (opts.image or opts.document):
        return []
    from msgcli.inputs import media

    if (list(opts.image) + list(opts.document)).count("-") > 1:
        raise InputError("stdin ('-') can feed only one image or document")
    # the Nth --document-title for the Nth -d (options refused more titles than
    # documents); None leaves a document its default title
    titles = list(opts.document_title)
    titles += [None] * (len(opts.document) - len(titles))
    return [media.image_block(r, uploaded) for r in opts.image] + \
        [media.document_block(r, "" if opts.no_document_title else title, uploaded)
         for r, title in zip(opts.document, titles, strict=True)]


def tool_result_blocks(opts):
    blocks = []
    for is_error, pairs in ((False, opts.tool_result), (True, opts.tool_error)):
        for tool_use_id, text in pairs:
            block = {"type": "tool_result", "tool_use_id": tool_use_id, "content": text}
            if is_error:
                block["is_error"] = True
            blocks.append(block)
    return blocks


def stdin_text(opts, console, has_other_input):
    if opts.stdin_taken:
        return ""
    if opts.no_stdin:
        if not has_other_input:
            raise InputError("no prompt: --no-stdin leaves stdin unread; give PROMPT "
                             "words or -f/--messages")
        return ""
    if stdin_is_terminal():
        if not has_other_input:
            raise InputError("no prompt: give PROMPT words, pipe text on stdin, or "
                             "use -f/--messages (see msgcli --help)")
        return ""
    wait = opts.stdin_timeout if has_other_input else None
    # join_prompt drops stdin's trailing newlines before a PROMPT: dropped as it is
    # read, where it costs no copy of the text
    text = read_stdin_text("prompt", "stdin", wait=wait, console=console,
                           strip_newlines=not _blank(" ".join(opts.prompt)))
    if text is None:
        return ""
    if _blank(text) and not has_other_input:
        raise InputError("stdin is empty and no PROMPT was given: nothing to send")
    if not _blank(text) and not opts.stdin:
        _warn_stdin_beside_files(opts, text, console)
    return text


def _warn_stdin_beside_files(opts, text, console):
    """The `while read -r f; do msgcli -d "$f" ...; done` trap: msgcli would
    swallow the loop's remaining lines as prompt text. Said, not refused, as
    `cat data | msgcli -d spec.pdf ...` is also what people mean."""
    given = [flag for flag, on in (("-f", opts.messages), ("-c", opts.conversation),
                                   ("-i", opts.image), ("-d", opts.document)) if on]
    if given and console is not None:
        lines = text.count("\n") + (not text.endswith("\n"))
        console.line(f"warning: stdin ({lines} line{'s' * (lines != 1)}) was read into the "
                     f"prompt as well as {'/'.join(given)}; in a loop give --no-stdin, "
                     "or --stdin to say you mean it")


def user_turn(opts, console, history, uploaded=None):
    """The new user turn (None when there is none): tool results and media first,
    then stdin's text and the PROMPT words."""
    blocks = tool_result_blocks(opts) + media_blocks(opts, uploaded)
    has_other = bool(opts.prompt or blocks or history.messages)
    text = join_prompt(stdin_text(opts, console, has_other), opts.prompt)
    if not blocks:
        return {"role": "user", "content": text} if text else None
    if text:
        blocks.append({"type": "text", "text": text})
    return {"role": "user", "content": blocks}
