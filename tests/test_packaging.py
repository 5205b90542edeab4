"""What an install ships: every room of the package, not the top package alone."""

import configparser

from tests.conftest import REPO


def test_every_room_is_packaged():
    import setuptools  # (the test extra installs it: uv's environments lack it)

    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    assert config["options"]["packages"].strip() == "find:"
    include = [p.strip() for p in config["options.packages.find"]["include"].split(",")]
    found = set(setuptools.find_packages(str(REPO), include=include))
    rooms = {f"msgcli.{p.parent.name}" for p in (REPO / "msgcli").glob("*/__init__.py")}
    assert rooms and rooms | {"msgcli"} <= found
    assert not {p for p in found if not p.startswith("msgcli")}
