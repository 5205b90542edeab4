"""Regression tests for problems a review of main found, one test (or more) per
problem; each failed before its fix."""

import pytest

from tests.conftest import refused


@pytest.mark.parametrize("flag", ["--timeout", "--stdin-timeout"])
def test_a_huge_timeout_is_a_usage_error(api, invoke, flag):
    r = invoke([flag, "1e300", "Hi"])
    refused(api, r, flag, "at most 1e+06")
    assert invoke([flag, "1000000", "--dry-run", "Hi"]).code == 0


@pytest.mark.parametrize("url,fragment", [
    ("http://a..b", "empty label"),
    ("http://127.0.0.1:99999", "Port out of range"),
    ("http://127.0.0.1:1/?beta=1", "query"),
    ("http://127.0.0.1:1/#here", "fragment"),
    ("http://:8080", "no host name"),
])
def test_an_unusable_base_url_is_a_usage_error(api, invoke, url, fragment):
    refused(api, invoke(["--base-url", url, "Hi"]), "--base-url", fragment)


def test_an_ipv6_or_international_base_url_is_still_taken(invoke):
    for url in ("http://[::1]:8080", "https://bücher.example/v1/"):
        assert invoke(["--base-url", url, "--dry-run", "Hi"]).code == 0
