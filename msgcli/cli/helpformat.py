"""The layout of --help: click's HelpFormatter, with its wrapping done here.

click wraps every paragraph with textwrap, whose import (three regular expressions
compiled) and hyphen-aware splitting took ~2.5 ms of a ~40 ms `msgcli --help`.
msgcli's help is plain text it writes itself: no ANSI styling, no tabs inside a
paragraph. So lines are broken at spaces only, by textwrap's own greedy rule (a run
of spaces inside a line is kept, one at the end of a line is dropped), and never
inside a word: `no-stream` or a URL stays whole, where click breaks `no-` from
`stream` and cuts a word longer than the column.
Everything else (sections, columns, indents, paragraphs and `\\b` blocks) is
click's layout, unchanged.
"""

from gettext import gettext as _

import click


def wrap(text, width, initial_indent="", subsequent_indent=""):
    """`text` as lines of at most `width` columns (indents included), broken at
    spaces; a word longer than a line has a line of its own."""
    chunks = []  # words and the runs of spaces between them, in reverse order
    for index, word in enumerate(text.expandtabs().split(" ")):
        if index:
            if chunks and not chunks[-1].strip():
                chunks[-1] += " "
            else:
                chunks.append(" ")
        if word:
            chunks.append(word)
    chunks.reverse()
    lines = []
    while chunks:
        indent = subsequent_indent if lines else initial_indent
        room = width - len(indent)
        if lines and not chunks[-1].strip():
            chunks.pop()  # the spaces a line was broken at
        line, used = [], 0
        while chunks and (used + len(chunks[-1]) <= room or not line):
            used += len(chunks[-1])
            line.append(chunks.pop())
            if used > room:
                break  # a word longer than the line stands alone
        if line and not line[-1].strip():
            line.pop()
        if line:
            lines.append(indent + "".join(line))
    return "\n".join(lines)


def wrap_paragraphs(text, width, indent=""):
    """click's wrap_text(preserve_paragraphs=True): paragraphs are separated by an
    empty line and keep the indent of their first line; a paragraph whose first
    line is `\\b` is kept as it is written."""
    paragraphs, lines = [], []
    for line in text.expandtabs().splitlines() + [""]:
        if line:
            lines.append(line)
            continue
        if not lines:
            continue
        first = lines[0].lstrip()
        extra = indent + " " * (len(lines[0]) - len(first))
        if first.strip() == "\b":
            paragraphs.append("\n".join(extra + raw for raw in lines[1:]))
        else:
            paragraphs.append(wrap(" ".join([first] + lines[1:]), width, extra, extra))
        lines = []
    return "\n\n".join(paragraphs)


class PlainFormatter(click.HelpFormatter):
    """click.HelpFormatter whose usage line, text and definition lists are wrapped
    by `wrap`; the same columns, indents and headings as click's."""

    def write_usage(self, prog, args="", prefix=None):
        if prefix is None:
            prefix = f"{_('Usage:')} "
        usage_prefix = f"{prefix:>{self.current_indent}}{prog} "
        text_width = self.width - self.current_indent
        if not args:
            self.write(usage_prefix.rstrip(" ") + "\n")
            return
        if text_width >= len(usage_prefix) + 20:  # the arguments fit beside it
            self.write(wrap(args, text_width, usage_prefix, " " * len(usage_prefix)))
        else:
            indent = " " * (max(self.current_indent, len(prefix)) + 4)
            self.write(usage_prefix + "\n" + wrap(args, text_width, indent, indent))
        self.write("\n")

    def write_text(self, text):
        self.write(wrap_paragraphs(text, self.width, " " * self.current_indent) + "\n")

    def write_dl(self, rows, col_max=30, col_spacing=2):
        rows = list(rows)
        first_col = min(max((len(term) for term, _text in rows), default=0),
                        col_max) + col_spacing
        margin = " " * (first_col + self.current_indent)
        for term, text in rows:
            self.write(" " * self.current_indent + term)
            if not text:
                self.write("\n")
                continue
            if len(term) <= first_col - col_spacing:
                self.write(" " * (first_col - len(term)))
            else:
                self.write("\n" + margin)
            lines = wrap_paragraphs(text, max(self.width - first_col - 2, 10)).splitlines()
            self.write("".join([f"{lines[0]}\n"] + [f"{margin}{line}\n" for line in lines[1:]])
                       if lines else "\n")


class HelpContext(click.Context):
    """click's Context, laying out --help with PlainFormatter."""

    formatter_class = PlainFormatter
