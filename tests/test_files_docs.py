"""docs/files.md is true: each of its sh examples runs in bash against the local
Files API (tests/support/files_server.py, with the batch engine beside it) and prints what
its `# prints:` lines say. Units are cut as tests/test_examples.py cuts README's."""

import re
import shutil

import pytest

from tests.conftest import REPO
from tests.support.batch_server import BatchEngine
from tests.support.files_server import FilesApi
from tests.test_examples import run_shell, units

DOC = (REPO / "docs/files.md").read_text()
UNITS = [unit for block in re.findall(r"^```sh\n(.*?)^```", DOC, re.S | re.M)
         for unit in units(block)]
MADE_BY_CODE_EXECUTION = "file_011CNha8iCJcU1wXNR6q4V8w"


def test_the_examples_were_found():
    assert len(UNITS) >= 9 and sum(bool(u["prints"]) for u in UNITS) >= 2


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u["lines"][0][:60])
def test_docs_files_example(unit, api, tmp_path):
    server = FilesApi(api)
    engine = BatchEngine(api)
    server.add((REPO / "tests" / "data" / "pixel.png").read_bytes(), "chart.png",
               "image/png", file_id=MADE_BY_CODE_EXECUTION)
    server.add(filename="draft.pdf")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(REPO / "tests" / "data" / "tiny.pdf", work / "contract.pdf")
    (work / "questions.jsonl").write_text('"Who signed?"\n"When does it end?"\n')
    before = len(api.log)
    proc = run_shell("bash", "\n".join(unit["lines"]), work, server.base, work)
    assert proc.returncode == 0, proc
    if unit["prints"]:
        assert proc.stdout == "".join(p + "\n" for p in unit["prints"]), proc
    assert len(api.log) > before, "the example sent nothing"
    assert server.bad == [] and engine.invalid == []
    script = "\n".join(unit["lines"])
    if "--upload-files" in script or "--upload " in script:
        assert len(server.uploads) == 1  # contract.pdf, once, whatever the lines
    if "--delete-file" in script:
        assert "draft.pdf" not in {v["filename"] for v, _ in server.files.values()}
    if "--download-file" in script:
        assert (work / "chart.png").read_bytes() == \
            (REPO / "tests" / "data" / "pixel.png").read_bytes()
