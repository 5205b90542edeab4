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
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                return f"{model!r}: {key} must be a number at least 0"
    return None


def _count(usage, key):
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def cost(prices, model, usage):
    """The price of `usage` for `model`, or None when the file has no such model."""
    entry = prices.get(model)
    if not isinstance(entry, dict):
        return None
    usage = usage if isinstance(usage, dict) else {}
    writes = _count(usage, "cache_creation_input_tokens")
    split = usage.get("cache_creation") if isinstance(usage.get("cache_creation"), dict) \
        else {}
    hour = min(_count(split, "ephemeral_1h_input_tokens"), writes) \
        if "cache_write_1h_per_mtok" in entry else 0
    total = (_count(usage, "input_tokens") * entry.get("input_per_mtok", 0)
             + _count(usage, "output_tokens") * entry.get("output_per_mtok", 0)
             + (writes - hour) * entry.get("cache_write_per_mtok", 0)
             + hour * entry.get("cache_write_1h_per_mtok", 0)
             + _count(usage, "cache_read_input_tokens") * entry.get("cache_read_per_mtok", 0))
    return round(total / 1_000_000, 10)


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
