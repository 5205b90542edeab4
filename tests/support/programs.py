"""External programs a test runs (shells, tmux, jq, groff)."""

import os
import shutil

import pytest


def need(program):
    """Skip the test when `program` is not installed; fail it instead on CI, where
    MSGCLI_REQUIRE_SHELLS=1 says every such program must be there."""
    if shutil.which(program) is None:
        if os.environ.get("MSGCLI_REQUIRE_SHELLS") == "1":
            pytest.fail(f"{program} is not installed, and MSGCLI_REQUIRE_SHELLS=1")
        pytest.skip(f"{program} is not installed (apt-get install {program})")
