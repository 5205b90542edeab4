"""Validation of request bodies against the official OpenAPI document in ../shared/spec."""

import functools
import json
import os
from pathlib import Path

import pytest

SPEC_PATH = Path(__file__).resolve().parents[2] / "shared" / "spec" / "anthropic-openapi.json"


@functools.lru_cache(maxsize=1)
def spec():
    if not SPEC_PATH.exists():
        if os.environ.get("CI"):
            raise FileNotFoundError(f"the API spec is missing: {SPEC_PATH}")
        pytest.skip(f"the API spec is not at {SPEC_PATH}")
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
