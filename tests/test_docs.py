"""Docs cannot drift: every option, environment variable and exit status of the
command appears in the man page, whose OPTIONS are generated from the command and
must be current; every exit status in the README's table and --help; the README
stays short, and its links and those of docs/ lead somewhere."""

import importlib.util
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from msgcli.cli import options
from msgcli.cli.command import cli
from msgcli.status import EXIT_STATUS_MEANINGS, ExitStatus
from tests.conftest import REPO

README = (REPO / "README.md").read_text()
MAN = (REPO / "man" / "msgcli.1").read_text()
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "bench" / "README.md"]


def load_generator():
    spec = importlib.util.spec_from_file_location("manpage_generator",
                                                  REPO / "man" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_readme_names_the_key_variable():
    assert "export ANTHROPIC_API_KEY=" in README


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


def _default_row(option):
    """The man page paragraph that documents `option`."""
    paragraphs = plain(man_section("OPTIONS")).split(".TP\n")
    return next(p for p in paragraphs if option in p.splitlines()[0])


@pytest.mark.parametrize("option, value", [
    ("--model", options.DEFAULT_MODEL), ("--max-tokens", options.DEFAULT_MAX_TOKENS),
    ("--api-version", options.DEFAULT_API_VERSION), ("--retries", options.DEFAULT_RETRIES),
    ("--timeout", options.DEFAULT_TIMEOUT), ("--stdin-timeout", options.DEFAULT_STDIN_TIMEOUT),
    ("--max-wait", options.DEFAULT_MAX_WAIT),
    ("--parallel", options.DEFAULT_PARALLEL),
])
def test_documented_defaults_are_the_real_ones(option, value):
    """Each default lives in msgcli/cli/options.py; the man page must say the same."""
    row = _default_row(option)
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    # roff markup (.BR, quotes, line breaks) may stand between "default" and the value
    text = re.sub(r"\n\.[A-Z]+ ", " ", row.replace("\\", ""))
    assert re.search(rf"default\W+{re.escape(shown)}(?![\w.-])", text), \
        f"man page paragraph for {option}: {row!r}"


def test_man_page_has_files_section():
    files = plain(man_section("FILES"))
    for what in ("--conversation", "--output", "--api-key-file"):
        assert what in files


@pytest.mark.parametrize("name", ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN",
                                  "ANTHROPIC_BASE_URL", "MSGCLI_MODEL", "MSGCLI_STREAM",
                                  "MSGCLI_RETRIES", "MSGCLI_TIMEOUT", "MSGCLI_NO_STDIN",
                                  "MSGCLI_API_KEY_FILE", "HTTPS_PROXY", "NO_PROXY",
                                  "REQUESTS_CA_BUNDLE", "_MSGCLI_COMPLETE", "MSGCLI_DEBUG",
                                  "MSGCLI_NO_FAST_PATH", "XDG_CACHE_HOME"])
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


def test_environment_read_by_the_code_is_in_the_man_page():
    """A variable msgcli reads by name (not as MSGCLI_<OPTION>) is documented."""
    names = set()
    for path in (REPO / "msgcli").rglob("*.py"):
        names |= set(re.findall(r"environ(?:\.get\(|\[)\"([A-Z_]+)\"", path.read_text()))
    assert {"ANTHROPIC_API_KEY", "MSGCLI_DEBUG"} <= names
    section = plain(man_section("ENVIRONMENT"))
    missing = sorted(n for n in names - {"COLUMNS"} if n not in section)
    assert not missing, f"read by msgcli but not in the man page's ENVIRONMENT: {missing}"


# -- the generated OPTIONS ---------------------------------------------------------

def test_man_page_is_current():
    """The committed page is what man/generate.py makes from the command and
    man/options.roff: an option added, renamed or given a new default shows here
    until the page is regenerated."""
    generator = load_generator()
    fresh = generator.render(MAN, (REPO / "man" / "options.roff").read_text())
    assert fresh == MAN, "man/msgcli.1 is not current: run python man/generate.py"


def test_man_page_check_mode_agrees():
    proc = subprocess.run([sys.executable, str(REPO / "man" / "generate.py"), "--check"],
                          capture_output=True, text=True)
    assert (proc.returncode, proc.stderr) == (0, "")


def test_generated_options_take_a_new_option_from_its_help():
    """An option the command gains, with no text in options.roff, is in the page
    with its --help text and default, in its section; text for an option the
    command does not have is refused."""
    import click

    generator = load_generator()

    @click.command()
    @click.option("-q", "--quiet-ish", is_flag=True, help="Say less.")
    @click.option("--colour", type=click.Choice(["auto", "never"]),
                  help="When to colour.  [default: auto]")
    @click.option("--ttl", metavar="SECONDS", help="How long.")
    def tool(**_):
        pass

    page = ".TH T 1\n.SH OPTIONS\nold\n.SH EXIT STATUS\n.TP\n.B 0\nfine\n"
    prose = '.\\" option ttl\nKeep it for\n.I SECONDS\n(default 5).\n'
    out = generator.render(page, prose, command=tool,
                           sections=(("Output", ("quiet_ish", "colour")),))
    section = out[out.index(".SH OPTIONS"):out.index(".SH EXIT STATUS")]
    assert "old" not in section and out.endswith(".SH EXIT STATUS\n.TP\n.B 0\nfine\n")
    assert ".SS Output\n.TP\n\\fB\\-q\\fR, \\fB\\-\\-quiet\\-ish\\fR\nSay less.\n" in section
    assert "\\fB\\-\\-colour\\fR \\fBauto\\fR|\\fBnever\\fR\nWhen to colour (default auto).\n" \
        in section
    # --ttl is in no section: it goes with --help under General, with its manual text
    general = section[section.index(".SS General"):section.index(".SS Output")]
    assert "\\fB\\-\\-ttl\\fR \\fISECONDS\\fR\nKeep it for\n.I SECONDS\n" in general
    assert "\\fB\\-\\-help\\fR\nShow this message and exit.\n" in general
    with pytest.raises(generator.Stale, match="'gone'"):
        generator.render(page, '.\\" option gone\nText.\n', command=tool, sections=())
    with pytest.raises(generator.Stale, match="@default@ for quiet_ish"):
        generator.render(page, '.\\" option quiet_ish\n(default @default@)\n',
                         command=tool, sections=())


# -- the README and docs/ ------------------------------------------------------------

def test_readme_is_read_in_five_minutes():
    assert len(README.encode()) <= 12 * 1024


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_links_lead_somewhere(page):
    """Every relative link of the README, docs/ and bench/README.md names a file
    of the checkout, and an anchor names a heading of the page it points to."""
    text = page.read_text()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.is_file(), f"{page.name}: {target} leads nowhere"
        assert linked.is_relative_to(REPO)
        if anchor and linked.suffix == ".md":
            slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
                     for h in re.findall(r"^#+ (.*)$", linked.read_text(), re.M)}
            assert anchor in slugs, f"{page.name}: no heading for #{anchor} in {path}"


def test_readme_links_every_page_of_docs():
    for page in sorted((REPO / "docs").glob("*.md")):
        assert f"](docs/{page.name})" in README, f"README does not link docs/{page.name}"
    assert "man/msgcli.1" in README
