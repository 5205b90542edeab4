"""--help's layout (msgcli.cli.helpformat): click's page, wrapped at spaces only.

The wrapping is textwrap's greedy rule without its hyphen and long-word breaks,
checked against textwrap itself; the page is click's own page, word for word,
fitting the width wherever a line can."""

import re
import textwrap

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from msgcli.cli.command import cli
from msgcli.cli.helpformat import PlainFormatter, wrap, wrap_paragraphs

WORDS = st.text(alphabet="ab-/.[]'|", min_size=1, max_size=30)
SPACES = st.sampled_from(["", " ", "  ", "   "])
TEXT = st.tuples(SPACES, st.lists(st.tuples(WORDS, SPACES.filter(bool)), max_size=40),
                 SPACES).map(lambda t: t[0] + "".join(w + s for w, s in t[1]) + t[2])


def reference_wrap(text, width, initial="", subsequent=""):
    """What click's wrap_text does, less the hyphen and long-word breaks."""
    return textwrap.TextWrapper(width, initial_indent=initial, subsequent_indent=subsequent,
                                replace_whitespace=False, break_on_hyphens=False,
                                break_long_words=False).fill(text)


@given(TEXT, st.integers(1, 90), st.sampled_from(["", "  ", "    "]),
       st.sampled_from(["", "  ", "      "]))
def test_wrap_is_textwraps_greedy_rule_at_spaces(text, width, initial, subsequent):
    if width <= len(initial) or width <= len(subsequent):
        return
    assert wrap(text, width, initial, subsequent) == \
        reference_wrap(text, width, initial, subsequent)


def test_wrap_never_breaks_a_word():
    assert wrap("Print it.  [default: no-stream]", 30) == "Print it.  [default:\nno-stream]"
    assert wrap("[default: https://api.anthropic.com]", 12) == \
        "[default:\nhttps://api.anthropic.com]"


def test_paragraphs_and_raw_blocks():
    text = "One two\nthree.\n\n  Indented para\n\n\b\nKept:\n  as  is"
    assert wrap_paragraphs(text, 9, "  ") == \
        "  One two\n  three.\n\n    Indented\n    para\n\n  Kept:\n    as  is"


def page(width, formatter, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(width))
    ctx = cli.make_context("msgcli", [], resilient_parsing=True)
    ctx.formatter_class = formatter
    return cli.get_help(ctx)


def words(text):
    # textwrap may break a hyphenated word or cut a long one: rejoin before comparing
    return re.sub(r"(?<=\w-)\s+", "", " ".join(text.split()))


@pytest.mark.parametrize("width", [50, 60, 66, 72, 79, 80, 100])
def test_help_is_clicks_page_word_for_word(width, monkeypatch):
    ours = page(width, PlainFormatter, monkeypatch)
    assert "Exit status:" in ours and "Connection:" in ours
    if width >= 60:  # below, click cuts the base URL's long word in two
        assert words(ours) == words(page(width, click.HelpFormatter, monkeypatch))


@pytest.mark.parametrize("width", [50, 66, 80, 100])
def test_help_lines_fit_unless_one_word(width, monkeypatch):
    limit = min(width, 80)
    examples = {line.strip() for line in cli.help.split("\b")[1].splitlines()}
    for line in page(width, PlainFormatter, monkeypatch).splitlines():
        if line.strip() not in examples:  # a \b block is kept as written
            assert len(line) <= limit or len(line.split()) == 1, line


def test_help_at_80_columns_is_clicks_but_for_the_hyphen_break(monkeypatch):
    ours, clicks = page(80, PlainFormatter, monkeypatch), page(80, click.HelpFormatter, monkeypatch)
    # the one place click breaks inside a word at 80 columns: "no-" / "stream]"
    broken = "generated.  [default: no-\n" + " " * 26 + "stream]\n"
    whole = "generated.  [default:\n" + " " * 26 + "no-stream]\n"
    assert broken in clicks and whole in ours
    assert ours.replace(whole, broken) == clicks
