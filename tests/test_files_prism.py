"""The Files API against Prism. The vendored spec has the files operations only
under their `?beta=true` keys (`/v1/files?beta=true`, ...), which Prism cannot
route: it matches the path alone, and msgcli, as SDK 2.x, calls the plain URL with
the anthropic-beta header. So Prism serves a copy of the spec in which each
`?beta=true` operation takes the place of its plain path: the beta API as msgcli
calls it (the files beta goes with every call here), with the uploads, the file ids
in Messages, count_tokens and batch bodies validated against the Beta* schemas
that hold the file sources. The vendored file is left untouched."""

import json

import pytest

from tests.support.spec import SPEC_PATH
from tests.test_prism import (
    BATCH_LINES,
    DATA,
    msgcli,
    prism_installed,  # noqa: F401 (a fixture)
    prism_serving,
)

pytestmark = pytest.mark.prism
FILE_ID = "file_011CNha8iCJcU1wXNR6q4V8w"  # the spec's own example id


def beta_spec(path):
    spec = json.loads(SPEC_PATH.read_text())
    paths = spec["paths"]
    for key in [k for k in paths if k.endswith("?beta=true")]:
        paths[key.removesuffix("?beta=true")] = paths.pop(key)
    path.write_text(json.dumps(spec))
    return path


@pytest.fixture(scope="module")
def beta_prism(prism_installed, tmp_path_factory):  # noqa: F811 (the fixture above)
    spec = beta_spec(tmp_path_factory.mktemp("spec") / "beta-openapi.json")
    with prism_serving(prism_installed, spec, "prism-beta.log") as url:
        yield url


@pytest.mark.parametrize("args", [
    ["-d", FILE_ID, "Summarize"],
    ["-i", FILE_ID, "What is this?"],
    ["--count-tokens", "-d", FILE_ID, "Summarize"],
], ids=["document id", "image id", "count tokens with an id"])
def test_file_ids_accepted(beta_prism, args):
    r = msgcli(beta_prism, args)
    assert r.code == 0 and r.stderr == "", r


def test_batch_with_a_file_id_accepted(beta_prism):
    r = msgcli(beta_prism, ["--jsonl", "--batch", "-d", FILE_ID],
               input=BATCH_LINES.encode())
    assert r.code == 0, r


def test_an_unknown_source_type_is_refused(beta_prism, tmp_path):
    """The beta Prism still validates: a file source without its id is a 4xx."""
    f = tmp_path / "req.json"
    f.write_text(json.dumps([{"role": "user", "content": [
        {"type": "document", "source": {"type": "file"}}, {"type": "text", "text": "x"}]}]))
    r = msgcli(beta_prism, ["-f", str(f)])
    assert r.code == 10 and "HTTP 422" in r.stderr, r


@pytest.mark.parametrize("args", [
    ["--upload", str(DATA / "tiny.pdf")],
    ["--file-info", FILE_ID],
    ["--delete-file", FILE_ID],
], ids=["upload", "info", "delete"])
def test_file_commands_accepted(beta_prism, args):
    r = msgcli(beta_prism, args)
    assert r.code == 0, r
    assert json.loads(r.stdout)["id"]


def test_list_files_accepted(beta_prism):
    r = msgcli(beta_prism, ["--list-files"])
    assert r.code == 0, r
    assert r.stdout and all(json.loads(line)["id"] for line in r.stdout.splitlines())


def test_download_file_accepted(beta_prism, tmp_path):
    r = msgcli(beta_prism, ["--download-file", FILE_ID, "-o", str(tmp_path / "out")])
    assert r.code == 0, r
    assert (tmp_path / "out").exists()
