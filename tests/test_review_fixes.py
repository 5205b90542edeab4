"""Regression tests for problems a review of main found, one test (or more) per
problem; each failed before its fix."""

import pytest

from tests.conftest import refused


@pytest.mark.parametrize("flag", ["--timeout", "--stdin-timeout"])
def test_a_huge_timeout_is_a_usage_error(api, invoke, flag):
    r = invoke([flag, "1e300", "Hi"])
    refused(api, r, flag, "at most 1e+06")
    assert invoke([flag, "1000000", "--dry-run", "Hi"]).code == 0
