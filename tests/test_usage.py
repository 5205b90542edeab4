"""Usage as data: the -u line with the cache counts, --usage-json, and --cost from a
price file."""

import json

import pytest

from tests.conftest import CACHED_USAGE, message

PRICES = {"claude-sonnet-4-5": {"input_per_mtok": 3, "output_per_mtok": 15,
                                "cache_write_per_mtok": 3.75, "cache_read_per_mtok": 0.3,
                                "cache_write_1h_per_mtok": 6}}


def test_usage_line_shows_cache_fields(api, invoke):
    api.reply(message(usage=CACHED_USAGE))
    r = invoke(["-u", "--cache", "Hi"])
    assert r.code == 0
    line, = r.stderr.splitlines()
    assert "cache_creation_input_tokens=2048" in line
    assert "cache_read_input_tokens=4096" in line
    assert api.bodies()[0]["cache_control"] == {"type": "ephemeral"}


def test_usage_json_is_one_line(api, invoke):
    api.reply(message(usage=CACHED_USAGE))
    r = invoke(["--usage-json", "Hi"])
    assert r.code == 0
    line, = r.stderr.splitlines()
    record = json.loads(line)
    assert record["request_id"] == "req_test123"
    assert record["model"] == "claude-sonnet-4-5"
    assert (record["input_tokens"], record["output_tokens"]) == (12, 5)
    assert (record["cache_creation_input_tokens"], record["cache_read_input_tokens"]) == \
        (2048, 4096)
    assert "cost" not in record


def test_usage_json_reports_absent_cache_counts_as_0(api, invoke):
    api.reply(message())
    record = json.loads(invoke(["--usage-json", "Hi"]).stderr)
    assert (record["cache_creation_input_tokens"], record["cache_read_input_tokens"]) == (0, 0)


def test_cost_from_a_price_file(api, invoke, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(PRICES))
    api.reply(message(usage=CACHED_USAGE))
    record = json.loads(invoke(["--usage-json", "--cost", str(prices), "Hi"]).stderr)
    expected = (12 * 3 + 5 * 15 + 2048 * 6 + 4096 * 0.3) / 1e6
    assert record["cost"] == pytest.approx(expected)


def test_cost_alone_implies_the_usage_line(api, invoke, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"some-other-model": {"input_per_mtok": 1}}))
    api.reply(message())
    r = invoke(["--cost", str(prices), "Hi"])
    assert r.code == 0
    assert r.stderr.startswith("msgcli: usage: input_tokens=10 output_tokens=5 cost=unknown")


@pytest.mark.parametrize("prices,fragment", [
    ({"m": {"input_per_mtok": "cheap"}}, "must be a number"),
    ({"m": {"input_per_token": 1}}, "unknown price"),
    ({"m": 3}, "expected an object"),
])
def test_bad_price_file_is_a_usage_error(api, invoke, tmp_path, prices, fragment):
    f = tmp_path / "prices.json"
    f.write_text(json.dumps(prices))
    r = invoke(["--cost", str(f), "Hi"])
    assert r.code == 2 and fragment in r.stderr
    assert len(api.log) == 0


HUGE = {"input_tokens": 10**400, "output_tokens": 5}


def test_a_count_too_large_for_a_float_is_shown_but_not_priced(api, invoke, tmp_path):
    """usage.input_tokens = 10**400 was exit 1 (OverflowError pricing it): the count
    is the server's word and shown as given, but it prices as nothing."""
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(PRICES))
    api.reply(message(usage=HUGE))
    r = invoke(["--cost", str(prices), "Hi"])
    assert r.code == 0, r
    assert f"input_tokens={10**400} output_tokens=5 cost=7.5e-05" in r.stderr
    record = json.loads(invoke(["--usage-json", "--cost", str(prices), "Hi"]).stderr)
    assert (record["input_tokens"], record["cost"]) == (10**400, pytest.approx(5 * 15 / 1e6))


def test_a_cost_too_large_for_a_float_says_so(api, invoke, tmp_path):
    """Counts that price past the float limit: the cost is unknown, and -u says why
    (not that the file lacks the model's price)."""
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(PRICES))
    api.reply(message(usage={"input_tokens": 10**308, "output_tokens": 10**308}))
    r = invoke(["-u", "--cost", str(prices), "Hi"])
    assert r.code == 0, r
    assert "cost=unknown (the counts are too large to price)" in r.stderr, r.stderr


def test_a_count_too_large_for_a_float_does_not_stop_a_jsonl_run(api, invoke):
    """The same count in --jsonl was exit 1 (OverflowError in the rate gate's pacing)."""
    api.reply(message(usage=HUGE))
    r = invoke(["--jsonl", "-P", "1"], input=b'"a"\n"b"\n', base_url=api.base)
    assert r.code == 0, r
    assert len(api.log) == 2


def test_a_price_too_large_for_a_float_is_a_usage_error(api, invoke, tmp_path):
    f = tmp_path / "prices.json"
    f.write_text(json.dumps({"claude-sonnet-4-5": {"input_per_mtok": 10**400}}))
    r = invoke(["--cost", str(f), "Hi"])
    assert r.code == 2 and "must be a number" in r.stderr, r
    assert len(api.log) == 0
