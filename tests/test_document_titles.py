"""Issue 26: a local -d file's document block carries its file name as `title`, which
the model reads. --document-title sets a title per document (the Nth for the Nth -d,
'' for none), --no-document-title sends none."""

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def documents(api):
    (body,) = api.bodies()
    return [b for b in body["messages"][-1]["content"] if b["type"] == "document"]


@pytest.fixture
def notes(tmp_path):
    (tmp_path / "private").mkdir()
    path = tmp_path / "private" / "q3-layoffs.txt"
    path.write_text("Some notes.\n")
    return str(path)


def test_titles_go_to_the_documents_in_order(api, invoke, notes):
    api.reply()
    r = invoke(["-d", notes, "-d", str(DATA / "tiny.pdf"), "-d",
                "https://example.com/a.pdf", "-d", notes,
                "--document-title", "Notes", "--document-title", "",
                "--document-title", "The paper", "Sum"])
    assert r.code == 0, r
    docs = documents(api)
    assert [d.get("title") for d in docs] == ["Notes", None, "The paper", "q3-layoffs.txt"]
    assert "title" not in docs[1]  # '' sends no title, not an empty one
    # an untitled file keeps the default: its name, never its directories
    assert "private" not in json.dumps(api.bodies())


def test_stdin_document_can_be_titled(api, invoke):
    api.reply()
    assert invoke(["-d", "-", "--document-title", "Log", "Sum"], input=b"a log\n").code == 0
    (doc,) = documents(api)
    assert doc["title"] == "Log" and doc["source"]["data"] == "a log\n"


@pytest.mark.parametrize("how", [["--no-document-title"], []])
def test_no_title_at_all(api, invoke, notes, how):
    api.reply()
    env = {} if how else {"MSGCLI_NO_DOCUMENT_TITLE": "1"}
    r = invoke(["-d", notes, "-d", str(DATA / "tiny.pdf"), *how, "Sum"], env=env)
    assert r.code == 0, r
    assert all("title" not in d for d in documents(api))
    assert "q3-layoffs" not in json.dumps(api.bodies())


def test_titles_through_the_environment_one_per_line(api, invoke, notes):
    api.reply()
    r = invoke(["-d", notes, "-d", notes, "Sum"],
               env={"MSGCLI_DOCUMENT_TITLE": "First notes\nSecond notes\n"})
    assert r.code == 0, r
    assert [d["title"] for d in documents(api)] == ["First notes", "Second notes"]


@pytest.mark.parametrize("args, said", [
    (["--document-title", "A", "Sum"], "--document-title: 1 title for 0 documents (-d)"),
    (["-d", "{notes}", "--document-title", "A", "--document-title", "B", "Sum"],
     "--document-title: 2 titles for 1 document (-d)"),
    (["-d", "{notes}", "--document-title", "A", "--no-document-title", "Sum"],
     "use either --document-title or --no-document-title"),
])
def test_titles_that_fit_no_document_are_usage_errors(api, invoke, notes, args, said):
    r = invoke([a.format(notes=notes) for a in args])
    assert r.code == 2
    assert said in r.stderr
    assert api.log == []


def test_dry_run_shows_the_title(api, invoke, notes):
    r = invoke(["--dry-run", "-j", "-d", notes, "--document-title", "Mine", "Sum"])
    assert r.code == 0
    assert json.loads(r.stdout)["messages"][0]["content"][0]["title"] == "Mine"
