"""What an install holds: every subpackage of msgcli, not only the top one (an
editable install, as the tests use, would not show it)."""

import configparser
from fnmatch import fnmatchcase

from tests.conftest import REPO


def test_every_subpackage_is_installed():
    present = {".".join(p.parent.relative_to(REPO).parts)
               for p in (REPO / "msgcli").rglob("__init__.py")}
    options = configparser.ConfigParser()
    options.read(REPO / "setup.cfg")
    declared = set(options["options"]["packages"].split())
    if declared == {"find:"}:  # setuptools matches its include patterns so (fnmatchcase)
        include = options["options.packages.find"]["include"].replace(",", " ").split()
        declared = {name for name in present
                    if any(fnmatchcase(name, pattern) for pattern in include)}
    assert "msgcli.cli" in present
    assert sorted(present - declared) == [], "not installed"
