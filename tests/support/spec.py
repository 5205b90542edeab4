"""Validation of request bodies against the OpenAPI document vendored in tests/data/spec."""

import functools
import json
from pathlib import Path

SPEC_PATH = Path(__file__).resolve().parent.parent / "data" / "spec" / "anthropic-openapi.json"


@functools.lru_cache(maxsize=1)
def spec():
    return json.loads(SPEC_PATH.read_text())


@functools.lru_cache(maxsize=8)
def validator(schema_name):
    from jsonschema import Draft202012Validator

    document = spec()
    root = {"$ref": f"#/components/schemas/{schema_name}",
            "components": document["components"]}
    return Draft202012Validator(root)


def assert_valid(body, schema_name="CreateMessageParams"):
    errors = sorted(validator(schema_name).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{schema_name} rejects the body: " + "; ".join(
        f"{'/'.join(map(str, e.path))}: {e.message[:300]}" for e in errors[:5])
