"""Usage as data: --usage-json's one JSON line, and --cost's prices.

Prices come only from a file the user gives, since they change and differ by
contract; none are built in. The file is a JSON object keyed by model id:

    {"claude-haiku-4-5": {"input_per_mtok": 1, "output_per_mtok": 5,
                          "cache_write_per_mtok": 1.25, "cache_read_per_mtok": 0.1,
                          "cache_write_1h_per_mtok": 2}}

All prices are per million tokens, in whatever currency the file uses; each one
is optional (missing counts 0) and cache_write_1h_per_mtok, when given, prices
the 1-hour part of cache writes (usage.cache_creation.ephemeral_1h_input_tokens).
"""

import json
import math

PRICE_KEYS = ("input_per_mtok", "output_per_mtok", "cache_write_per_mtok",
              "cache_read_per_mtok", "cache_write_1h_per_mtok")
CACHE_FIELDS = ("cache_creation_input_tokens", "cache_read_input_tokens")


def check_prices(prices):
    """The problem with a price file, or None."""
    for model, entry in prices.items():
        if not isinstance(entry, dict):
            return f"{model!r}: expected an object of prices"
        for key, value in entry.items():
            if key not in PRICE_KEYS:
                return f"{model!r}: unknown price {key!r} (known: {', '.join(PRICE_KEYS)})"
            if not isinstance(value, (int, float)) or isinstance(value, bool) \
                    or not _finite(value) or value < 0:
                return f"{model!r}: {key} must be a number, finite and at least 0"
    return None


def _finite(value):
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def tokens(value):
    """A usage count as a float to compute with, 0.0 when it is none: not a positive
    int, or one too large for a float (10**400 from a server is its word, shown as
    given, but nothing to price or pace by)."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0 \
            or not _finite(value):
        return 0.0
    return float(value)


def _count(usage, key):
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _priced(usage, key):
    return tokens(usage.get(key))


def cost(prices, model, usage):
    """The price of `usage` for `model`, or None when the file has no such model."""
    entry = prices.get(model)
    if not isinstance(entry, dict):
        return None
    usage = usage if isinstance(usage, dict) else {}
    writes = _priced(usage, "cache_creation_input_tokens")
    split = usage.get("cache_creation") if isinstance(usage.get("cache_creation"), dict) \
        else {}
    hour = min(_priced(split, "ephemeral_1h_input_tokens"), writes) \
        if "cache_write_1h_per_mtok" in entry else 0.0
    total = (_priced(usage, "input_tokens") * entry.get("input_per_mtok", 0)
             + _priced(usage, "output_tokens") * entry.get("output_per_mtok", 0)
             + (writes - hour) * entry.get("cache_write_per_mtok", 0)
             + hour * entry.get("cache_write_1h_per_mtok", 0)
             + _priced(usage, "cache_read_input_tokens") * entry.get("cache_read_per_mtok", 0))
    # counts near the float limit times a price: no finite cost to report
    return round(total / 1_000_000, 10) if math.isfinite(total) else None


def record(message, request_id, prices=None, requested=None):
    """The usage of one reply as a dict: ids, model, every usage field (the cache
    counts 0 when not reported) and, with prices, its cost."""
    usage = message.get("usage") if isinstance(message.get("usage"), dict) else {}
    line = {"request_id": request_id, "id": message.get("id"), "model": message.get("model"),
            "stop_reason": message.get("stop_reason"),
            "input_tokens": _count(usage, "input_tokens"),
            "output_tokens": _count(usage, "output_tokens")}
    line.update({key: _count(usage, key) for key in CACHE_FIELDS})
    line.update({k: v for k, v in usage.items() if k not in line})
    if prices is not None:
        priced = cost(prices, message.get("model"), usage)
        line["cost"] = priced if priced is not None else cost(prices, requested, usage)
    return line


def json_line(message, request_id, prices=None, requested=None):
    return json.dumps(record(message, request_id, prices, requested), ensure_ascii=False,
                      separators=(",", ":"))
