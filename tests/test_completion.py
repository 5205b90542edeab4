"""Shell completion (issue 12): file options complete file names and value
options their values, through click's protocol (the _MSGCLI_COMPLETE variable),
and in real bash, zsh and fish sessions driven through tmux.

A shell that is missing skips its test, unless MSGCLI_REQUIRE_SHELLS=1 (set by
.ci/run, which installs them) makes that a failure.
"""

import os
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, clean_env
from tests.support.programs import need

MSGCLI = os.path.join(os.path.dirname(sys.executable), "msgcli")
FILE_OPTIONS = ["-f", "--messages", "-c", "--conversation", "-o", "--output", "-i",
                "--image", "-d", "--document", "--tools", "--schema", "--api-key-file"]


def complete(shell, words, cwd=REPO):
    """msgcli's answer to a completion request, as the shell's script asks it."""
    env = clean_env("http://127.0.0.1:9", _MSGCLI_COMPLETE=f"{shell}_complete",
                    COMP_WORDS=" ".join(words))
    # bash and zsh give the index of the word being completed; fish gives its text
    env["COMP_CWORD"] = words[-1] if shell == "fish" else str(len(words) - 1)
    proc = subprocess.run([sys.executable, "-m", "msgcli"], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=30)
    assert proc.returncode == 0 and proc.stderr == "", proc
    return proc.stdout


def items(shell, words, cwd=REPO):
    """(type, value) pairs, whichever shell's format."""
    out = complete(shell, words, cwd)
    if shell == "zsh":  # type, value, description: one per line
        lines = out.splitlines()
        return [(lines[i], lines[i + 1]) for i in range(0, len(lines), 3)]
    # fish: type,value, then a tab and the option's help
    return [tuple(line.split("\t")[0].split(",", 1)) for line in out.splitlines()]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize("option", FILE_OPTIONS)
def test_file_options_complete_file_names(shell, option):
    assert items(shell, ["msgcli", option, "conv"]) == [("file", "conv")]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize("option,typed,expected", [
    ("--thinking", "", ["adaptive", "off", "2048", "8192"]),
    ("--thinking", "ad", ["adaptive"]),
    ("--effort", "", ["low", "medium", "high", "xhigh", "max"]),
    ("--effort", "m", ["medium", "max"]),
    ("--tool-choice", "", ["auto", "any", "none"]),
    ("--tool-choice", "a", ["auto", "any"]),
    ("--ok", "max", ["max_tokens"]),
])
def test_values_complete(shell, option, typed, expected):
    assert items(shell, ["msgcli", option, typed]) == [("plain", v) for v in expected]


def test_tool_choice_completes_tool_names_from_tools(tmp_path):
    (tmp_path / "tools.json").write_text(
        '[{"name": "get_weather", "input_schema": {"type": "object"}}]')
    got = items("bash", ["msgcli", "--tools", "tools.json", "--tool-choice", ""],
                cwd=tmp_path)
    assert [v for _, v in got] == ["auto", "any", "none", "get_weather"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_options_complete(shell):
    values = [v for _, v in items(shell, ["msgcli", "--no-st"])]
    assert values == ["--no-stream", "--no-stdin"]


# -- as a person would: a real shell in tmux ---------------------------------------

SHELLS = {
    "bash": (["bash", "--norc", "--noprofile"],
             'eval "$(_MSGCLI_COMPLETE=bash_source msgcli)"'),
    "zsh": (["zsh", "-f"],
            'autoload -Uz compinit && compinit -u && '
            'eval "$(_MSGCLI_COMPLETE=zsh_source msgcli)"'),
    "fish": (["fish", "--no-config"],
             "set -g fish_autosuggestion_enabled 0; "
             "_MSGCLI_COMPLETE=fish_source msgcli | source"),
}


class Tmux:
    """One shell in a private tmux server (its own socket in tmp_path)."""

    def __init__(self, tmp_path, argv, cwd):
        # a socket name, not a path: tmux keeps it in its own short directory, while a
        # path under a deep TMPDIR (nox's) can pass the 108-byte limit of a socket path
        self.socket = f"msgcli-test-{os.getpid()}-{id(self)}"
        env = clean_env("http://127.0.0.1:9", TERM="xterm-256color", HOME=str(tmp_path),
                        PS1="$ ", SHELL=argv[0])
        env["PATH"] = os.path.dirname(MSGCLI) + os.pathsep + os.environ.get("PATH", "")
        self.env = env
        self.tmux("new-session", "-d", "-x", "150", "-y", "40", "-c", str(cwd),
                  " ".join(argv))

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, env=self.env, timeout=30, check=True).stdout

    def send(self, *keys):
        self.tmux("send-keys", "-t", "0", *keys)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "0")

    def wait_for(self, check, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{what} never appeared:\n{self.screen()}")

    def close(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       env=self.env, timeout=30)


@pytest.mark.parametrize("shell", list(SHELLS))
def test_completion_in_a_real_shell(shell, tmp_path):
    need("tmux")
    need(shell)
    work = tmp_path / "work"
    work.mkdir()
    (work / "conv.json").write_text("[]")
    argv, install = SHELLS[shell]
    term = Tmux(tmp_path, argv, work)
    try:
        term.send(install + "; echo READY", "Enter")
        term.wait_for(lambda s: "\nREADY" in "\n" + s, "the shell")
        term.send("msgcli -f conv", "Tab")
        term.wait_for(lambda s: "msgcli -f conv.json" in s, "the completed file name")
        # C-u empties the line in all three (C-c races the keys typed after it)
        term.send("C-u")
        term.wait_for(lambda s: "conv.json" not in s.rstrip().splitlines()[-1],
                      "an empty line")
        term.send("msgcli --thinking ad", "Tab")
        term.wait_for(lambda s: "msgcli --thinking adaptive" in s, "the completed value")
    finally:
        term.close()
