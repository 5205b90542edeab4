"""The model list: --list-models (GET /v1/models, every page), its cache in the
user's cache directory, and the lifecycle notes drawn from it.

The cache serves `--model` completion and the "deprecated" note on every run, so
neither ever makes a request: only --list-models asks the API, and only when the
cache is older than CACHE_SECONDS or was filled from another base URL. The
`lifecycle`, `deprecated_at` and `retires_at` fields are newer than the published
OpenAPI document, so all of them are optional here.
"""

import json
import os
import time
from urllib.parse import urlencode

from msgcli.errors import BadResponseError, InputError

MODELS_PATH = "/v1/models"
CACHE_SECONDS = 3600
PAGE_SIZE = 1000
MAX_PAGES = 100
# Without `lifecycle` the endpoint lists active and deprecated models only; retired
# ones must be asked for. Every stage is asked for, so the list (and the cache that
# the "is retired" note reads) is complete. Encoded as SDK 2.16 encodes
# models.list(lifecycle=[...]): brackets, one pair per stage; the next page's
# after_id last, as its pages add it.
LIFECYCLES = ("active", "deprecated", "retired")

# When no cached list says otherwise: anthropic SDK 2.14, anthropic/_data/
# deprecated_models.py (the table its messages.create warns from), dates as ISO.
BUILT_IN_RETIREMENTS = {
    "claude-mythos-preview": "2026-06-30",
    "claude-sonnet-4-5": "2026-11-30",
    "claude-sonnet-4-5-20250929": "2026-11-30",
    "claude-opus-4-5": "2027-01-22",
    "claude-opus-4-5-20251101": "2027-01-22",
}


def cache_path():
    base = os.environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):  # the XDG spec: ignore a relative path
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "msgcli", "models.json")


def read_cache():
    """The cached {"fetched_at", "base_url", "data"}, or None; never raises."""
    try:
        with open(cache_path(), "rb") as f:
            value = json.loads(f.read(8 * 1024 * 1024))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        return None
    return value


def cached_ids():
    cache = read_cache() or {}
    return [m["id"] for m in cache.get("data", ())
            if isinstance(m, dict) and isinstance(m.get("id"), str)]


def write_cache(base_url, models, console):
    from msgcli.output import atomic

    path = cache_path()
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        atomic.write(path, json.dumps({"fetched_at": time.time(), "base_url": base_url,
                                       "data": models}, ensure_ascii=False) + "\n",
                     "model cache")
    except (OSError, InputError) as e:
        console.line(f"the model list was not cached: {getattr(e, 'message', e)}")


def _fresh(cache, base_url):
    fetched = cache.get("fetched_at") if cache else None
    return isinstance(fetched, (int, float)) and cache.get("base_url") == base_url \
        and 0 <= time.time() - fetched < CACHE_SECONDS


def page_url(base_url, after=None):
    query = [("lifecycle[]", stage) for stage in LIFECYCLES] + [("limit", PAGE_SIZE)] + \
        ([("after_id", after)] if after else [])
    return base_url.rstrip("/") + MODELS_PATH + "?" + urlencode(query)


def fetch(transport, base_url, headers):
    """Every model, following after_id/has_more/last_id as the SDK does."""
    from msgcli.api.reply import json_object

    models, after, seen = [], None, set()
    for _ in range(MAX_PAGES):
        response = transport.request("GET", page_url(base_url, after), headers)
        page = json_object(transport.read_body(response), response.status_code)
        data = page.get("data")
        if not isinstance(data, list) or not all(isinstance(m, dict) for m in data):
            raise BadResponseError("the model list has no 'data' array of models")
        models += data
        after = page.get("last_id")
        if page.get("has_more") is not True or not isinstance(after, str) or after in seen:
            return models
        seen.add(after)
    return models


def list_models(opts, headers, base_url, console, out):
    """--list-models: one JSON line per model, from the cache when it is fresh."""
    from msgcli.output.render import compact_json
    from msgcli.wire.transport import Transport

    cache = read_cache()
    if _fresh(cache, base_url):
        models = cache["data"]
        if opts.verbose:
            console.line(f"model list from the cache {cache_path()}")
    else:
        deadline = None if opts.deadline is None else time.monotonic() + opts.deadline
        with Transport(opts.retries, opts.timeout, console, verbose=opts.verbose,
                       max_wait=opts.max_wait, deadline=deadline) as transport:
            models = fetch(transport, base_url, headers)
        write_cache(base_url, models, console)
    for model in models:
        out.write(compact_json(model) + "\n")


def lifecycle_note(model, is_default=False):
    """One line when `model` is deprecated, retiring or retired, per the cached
    list or else the SDK's table; None otherwise. Reads only the cache."""
    if not isinstance(model, str):
        return None
    info = next((m for m in (read_cache() or {}).get("data", ())
                 if isinstance(m, dict) and m.get("id") == model), None)
    if info is not None:
        lifecycle, retires = info.get("lifecycle"), info.get("retires_at")
        date = retires[:10] if isinstance(retires, str) and retires else None
        if lifecycle == "retired":
            what = f"model {model} is retired" + (f" (since {date})" if date else "")
        elif lifecycle == "deprecated":
            what = f"model {model} is deprecated" + \
                (f" and retires on {date}" if date else "")
        elif date:
            what = f"model {model} retires on {date}"
        else:
            return None
        source = "per the cached model list"
    elif model in BUILT_IN_RETIREMENTS:
        what = f"model {model} is deprecated and retires on {BUILT_IN_RETIREMENTS[model]}"
        source = "per SDK 2.14's table"
    else:
        return None
    how = "it is msgcli's default: pin a model with -m or MSGCLI_MODEL" if is_default \
        else "choose another with -m (see --list-models)"
    return f"{what} ({source}); {how}"
