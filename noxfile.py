"""The interpreter and dependency matrix: `nox` (needs `pip install nox uv`).

tests_without_extras runs the platforms' tests with their optional extras absent.

tests(python, deps) runs the whole suite on the oldest and newest supported Python with
  - deps="lowest": click, requests and urllib3 at the lowest versions setup.cfg allows
    (uv's --resolution lowest-direct); the test tools at their newest;
  - deps="newest": everything at the newest version the registry serves.

The property tests run with few examples here (MSGCLI_HYPOTHESIS_EXAMPLES): the plain
`python -m pytest` run keeps their full count. A missing interpreter fails the session
on CI (CI set) and skips it elsewhere, so a user without those Pythons can still run
`python -m pytest`. Interpreters installed with pyenv are found without `pyenv global`.
"""

import os
import re
from pathlib import Path

import nox

OLDEST, NEWEST = "3.11", "3.13"  # keep OLDEST in step with python_requires in setup.cfg
RUNTIME = ("click", "requests", "urllib3")  # install_requires in setup.cfg
# run a second time with MSGCLI_NO_FAST_PATH=1: every test that reads a reply off a socket
PLAIN_PATH = ("tests/test_streaming.py", "tests/test_body_reads.py", "tests/test_fast_path.py",
              "tests/test_hostile.py")

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = bool(os.environ.get("CI"))
nox.options.sessions = ["tests", "tests_without_extras"]
# Never let uv fetch an interpreter from the network: a missing Python must show.
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")


def _version_key(path):
    return [int(part) for part in re.findall(r"\d+", path.parent.name)]


def _expose_pyenv_pythons():
    """Put pyenv's newest X.Y.* of each wanted version on PATH (pyenv's shims only show
    the versions `pyenv global` selects)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = []
    for version in (OLDEST, NEWEST):
        candidates = sorted(root.glob(f"{version}.*/bin"), key=_version_key)
        candidates = [c for c in candidates if (c / f"python{version}").exists()]
        if candidates:
            found.append(str(candidates[-1]))
    if found:
        os.environ["PATH"] = os.pathsep.join([*found, os.environ.get("PATH", "")])


_expose_pyenv_pythons()


def _runtime_versions(session):
    out = session.run("python", "-c",
                      "import importlib.metadata as m; "
                      f"print(' '.join(n + '==' + m.version(n) for n in {RUNTIME!r}))",
                      silent=True)
    return out.strip()


@nox.session(python=[OLDEST, NEWEST])
@nox.parametrize("deps", ["lowest", "newest"])
def tests(session, deps):
    if deps == "lowest":
        session.install("--resolution", "lowest-direct", "-e", ".")
        lowest = _runtime_versions(session)
        # the test tools at their newest, the runtime dependencies held where they are
        session.install("-e", ".[test]", *(f"--constraint={c}" for c in
                                           _constraints(session, lowest)))
        assert _runtime_versions(session) == lowest, "the test extras moved a minimum"
    else:
        session.install("--upgrade", "--resolution", "highest", "-e", ".[test]")
    session.run("python", "--version")
    versions = _runtime_versions(session)
    session.log("runtime dependencies: %s", versions)
    # issue 16: the guarded shortcuts and the public reads run on urllib3 1.26 and 2
    urllib3_major = re.search(r"urllib3==(\d+)\.", versions).group(1)
    if urllib3_major != {"lowest": "1", "newest": "2"}[deps]:
        session.error(f"deps={deps} should run urllib3 {'1.26' if deps == 'lowest' else 2}: "
                      f"{versions}")
    env = {"MSGCLI_HYPOTHESIS_EXAMPLES": os.environ.get("MSGCLI_HYPOTHESIS_EXAMPLES", "10"),
           "MSGCLI_FUZZ_EXAMPLES": os.environ.get("MSGCLI_FUZZ_EXAMPLES", "10")}
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *session.posargs,
                env=env)
    if session.python == NEWEST and not session.posargs:
        # The whole suite above reads with the shortcuts on; the reading and streaming
        # tests again with them off (tests/test_fast_path.py and test_body_reads.py
        # also compare the two within one run).
        session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *PLAIN_PATH,
                    env={**env, "MSGCLI_NO_FAST_PATH": "1"})


# The platforms' optional extras (setup.cfg: bedrock, vertex, foundry) and what only the
# tests of their credential chains use; msgcli[test] installs them
EXTRAS = ("botocore", "google-auth", "cryptography", "azure-identity")


@nox.session(python=[NEWEST])
def tests_without_extras(session):
    """The default install's view of the platforms: with botocore, google-auth and
    azure-identity absent, each platform's key or token path works and the credential
    chains that need an extra exit 11 with their hint (the tests that need an extra
    skip)."""
    session.install("-e", ".[test]")
    session.run("uv", "pip", "uninstall", *EXTRAS, external=True)
    session.run("python", "-c", "import importlib.util as u, sys; sys.exit(any("
                "u.find_spec(m) for m in ('botocore', 'google', 'azure')))")
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                *(session.posargs or sorted(str(p) for p in
                                            Path("tests").glob("test_platform_*.py"))),
                env={"MSGCLI_HYPOTHESIS_EXAMPLES": "10"})


def _constraints(session, pins):
    path = Path(session.create_tmp()) / "lowest-constraints.txt"
    path.write_text("\n".join(pins.split()) + "\n")
    return [str(path)]
