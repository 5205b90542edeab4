"""The Files API with the official SDK (2.16) as a differential oracle: msgcli's
upload is the SDK's upload (path, query, beta header, and the file part as the
local server parses it), a request that names a file id is the SDK's, and
--list-files follows the pages the SDK's iterator follows.

Under the SDK's own version (2026-10-21) the SDK calls `client.files` and
`client.messages` without a beta header, as msgcli does there; under 2023-06-01
the SDK is given betas=["files-api-2025-04-14"] (its beta namespace), which msgcli
adds by itself. Differences by design: msgcli sends the key as x-api-key (the SDK
as Bearer), and asks for pages of 1,000 (the SDK leaves the API's default).
"""

import json
import warnings

import anthropic
import pytest
from anthropic._constants import ANTHROPIC_API_VERSION

from tests.conftest import FAKE_KEY, REPO
from tests.support.files_server import FilesApi

DATA = REPO / "tests" / "data"
BETA = "files-api-2025-04-14"
VERSIONS = [ANTHROPIC_API_VERSION, "2023-06-01"]


def client(api, version):
    return anthropic.Anthropic(api_key=FAKE_KEY, base_url=api.base, max_retries=0,
                               default_headers={"anthropic-version": version})


def last_call(server):
    method, path, query, headers = server.calls[-1]
    return method, path, query, headers.get("Anthropic-Beta")


@pytest.mark.parametrize("version", VERSIONS)
def test_upload_is_the_sdks(api, invoke, version):
    server = FilesApi(api)
    pdf = DATA / "tiny.pdf"
    assert invoke(["--api-version", version, "--upload", str(pdf)]).code == 0
    ours = last_call(server)
    sdk = client(api, version)
    upload = ("tiny.pdf", pdf.read_bytes(), "application/pdf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if version == ANTHROPIC_API_VERSION:
            sdk.files.upload(file=upload)
        else:
            sdk.beta.files.upload(file=upload, betas=[BETA])
    sdk.close()
    assert server.bad == []  # both bodies parsed strictly, by hand and by werkzeug
    assert ours == last_call(server)
    assert server.uploads[0] == server.uploads[1] == ("tiny.pdf", "application/pdf",
                                                      pdf.stat().st_size)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_file_id_request_is_the_sdks(api, invoke, version):
    server = FilesApi(api)
    file_id = server.add()["id"]
    assert invoke(["--api-version", version, "--no-document-title", "-d", file_id,
                   "Summarize"]).code == 0
    ours = last_call(server)
    sdk = client(api, version)
    kwargs = dict(model="claude-haiku-4-5", max_tokens=4096, messages=[{
        "role": "user", "content": [
            {"type": "document", "source": {"type": "file", "file_id": file_id}},
            {"type": "text", "text": "Summarize"}]}])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if version == ANTHROPIC_API_VERSION:
            sdk.messages.create(**kwargs)
        else:
            sdk.beta.messages.create(**kwargs, betas=[BETA])
    sdk.close()
    assert server.messages[0] == server.messages[1]
    assert ours == last_call(server)
    assert (ours[3] == BETA) == (version != ANTHROPIC_API_VERSION)


def test_list_files_follows_the_pages_the_sdk_follows(api, invoke):
    server = FilesApi(api, page_limit=2, next_page=True)
    made = [server.add(filename=f"{n}.pdf")["id"] for n in range(5)]
    r = invoke(["--api-version", ANTHROPIC_API_VERSION, "--list-files"])
    assert r.code == 0, r
    ours = [json.loads(line)["id"] for line in r.stdout.splitlines()]
    sdk = client(api, ANTHROPIC_API_VERSION)
    theirs = [f.id for f in sdk.files.list()]
    sdk.close()
    assert ours == theirs == made
    pages = [c[2].get("page") for c in server.calls if c[0] == "GET"]
    assert pages[:3] == pages[3:]  # the same cursors, in the same order
