"""Docs cannot drift: every option, environment variable and exit status of the
command appears in the README, the man page and (for statuses) --help."""

import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from msgcli.cli import options
from msgcli.cli.command import cli
from msgcli.status import EXIT_STATUS_MEANINGS, ExitStatus
from tests.conftest import REPO

README = (REPO / "README.md").read_text()
MAN = (REPO / "man" / "msgcli.1").read_text()


def plain(roff):
    """roff without hyphen escapes and font changes, as a reader sees it."""
    return re.sub(r"\\f[BIRP]", "", roff.replace("\\-", "-"))

OPTIONS = sorted({opt for p in cli.params for opt in p.opts + p.secondary_opts
                  if opt.startswith("-")} | {"--help", "-h", "--version", "-V"})


def man_section(name):
    match = re.search(rf"^\.SH {name}\n(.*?)(?=^\.SH )", MAN, re.S | re.M)
    assert match, f"the man page has no {name} section"
    return match.group(1)


def test_options_list_is_not_empty():
    assert "--stream" in OPTIONS and "-m" in OPTIONS and len(OPTIONS) > 40


@pytest.mark.parametrize("option", OPTIONS)
def test_option_in_readme(option):
    assert re.search(rf"`[^`]*(?<![\w-]){re.escape(option)}(?![\w-])", README), \
        f"{option} is not in README.md"


@pytest.mark.parametrize("option", OPTIONS)
def test_option_in_man_page(option):
    options_section = plain(man_section("OPTIONS"))
    assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", options_section), \
        f"{option} is not in the man page's OPTIONS"


@pytest.mark.parametrize("code", list(ExitStatus))
def test_exit_status_in_readme_table(code):
    row = f"| {int(code)} | {EXIT_STATUS_MEANINGS[code]} |"
    assert row in README.replace("`", ""), f"README's exit table lacks: {row}"


@pytest.mark.parametrize("code", list(ExitStatus))
def test_exit_status_in_man_page(code):
    section = man_section("EXIT STATUS")
    assert re.search(rf"^\.B {int(code)}$", section, re.M), f"man page lacks status {code}"


def test_exit_statuses_in_help():
    out = CliRunner().invoke(cli, ["--help"], terminal_width=80).output
    # a meaning wrapped onto indented continuation lines reads as one line
    unwrapped = re.sub(r"\n {5,}(?=\S)", " ", out)
    for code, meaning in EXIT_STATUS_MEANINGS.items():
        assert re.search(rf"^\s+{int(code)}\s+{re.escape(meaning)}$", unwrapped, re.M), \
            f"--help lacks exit status {int(code)}"


def test_help_fits_80_columns():
    out = CliRunner().invoke(cli, ["--help"], env={"COLUMNS": "80"}).output
    too_wide = [line for line in out.splitlines() if len(line) > 80]
    assert not too_wide, too_wide


@pytest.mark.parametrize("name", ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN",
                                  "ANTHROPIC_BASE_URL", "MSGCLI_MODEL", "MSGCLI_STREAM",
                                  "MSGCLI_RETRIES", "MSGCLI_TIMEOUT"])
def test_environment_documented(name):
    assert name in README
    assert name in plain(man_section("ENVIRONMENT"))


def test_man_page_sections():
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS",
                    "ENVIRONMENT", "EXAMPLES", "SEE ALSO"):
        assert re.search(rf"^\.SH {section}$", MAN, re.M), section


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_man_page_renders_without_warnings():
    proc = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(REPO / "man/msgcli.1")],
                          capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stderr == ""


def test_readme_test_command_is_what_ci_runs():
    ci = (REPO / ".ci" / "run").read_text()
    assert "pip install -e '.[test]' && python -m pytest" in README
    assert "pip install -e '.[test]'" in ci and "python -m pytest" in ci


def _default_row(text, option):
    """The README table row or man page paragraph that documents `option`."""
    if text is README:
        return next(line for line in README.splitlines()
                    if line.startswith("| `") and option in line.split("|")[1])
    paragraphs = plain(man_section("OPTIONS")).split(".TP\n")
    return next(p for p in paragraphs if option in p.splitlines()[0])


@pytest.mark.parametrize("where", ["README", "man page"])
@pytest.mark.parametrize("option, value", [
    ("--model", options.DEFAULT_MODEL), ("--max-tokens", options.DEFAULT_MAX_TOKENS),
    ("--api-version", options.DEFAULT_API_VERSION), ("--retries", options.DEFAULT_RETRIES),
    ("--timeout", options.DEFAULT_TIMEOUT), ("--stdin-timeout", options.DEFAULT_STDIN_TIMEOUT),
    ("--max-wait", options.DEFAULT_MAX_WAIT),
    ("--parallel", options.DEFAULT_PARALLEL),
])
def test_documented_defaults_are_the_real_ones(where, option, value):
    """Each default lives in msgcli/cli/options.py; the docs must say the same."""
    row = _default_row(README if where == "README" else MAN, option)
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    # roff markup (.BR, quotes, line breaks) may stand between "default" and the value
    text = re.sub(r"\n\.[A-Z]+ ", " ", row.replace("\\", ""))
    assert re.search(rf"default\W+{re.escape(shown)}(?![\w.-])", text), \
        f"{where} row for {option}: {row!r}"


def test_man_page_has_files_section():
    files = plain(man_section("FILES"))
    for what in ("--conversation", "--output", "--api-key-file"):
        assert what in files


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE",
                                  "_MSGCLI_COMPLETE", "MSGCLI_DEBUG"])
def test_environment_documented_in_man_page(name):
    assert re.search(rf"(?<![\w]){name}(?![\w])", plain(man_section("ENVIRONMENT")))


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_man_page_identifiers_are_not_hyphenated():
    """At a narrow width every variable and option name still reads as typed: none is
    split across lines by hyphenation."""
    out = subprocess.run(["groff", "-man", "-Tutf8", "-rLL=60n", str(REPO / "man/msgcli.1")],
                         capture_output=True, text=True, check=True).stdout
    text = re.sub(r".\x08", "", re.sub(r"\x1b\[[0-9;]*m", "", out))
    lines = text.splitlines()
    # groff marks a hyphenation break with U+2010 at the end of the line
    assert not [line for line in lines if line.endswith("\u2010")]
    names = set(re.findall(r"_?\b(?:MSGCLI|ANTHROPIC|HTTPS?|NO|REQUESTS)_[A-Z_]+\b",
                           plain(MAN)))
    names |= {o for o in OPTIONS if o.startswith("--")}
    for name in sorted(names):
        assert any(name in line for line in lines), f"{name} is broken across lines"
