"""What the tests share and test nothing themselves: local API servers (scripted,
hostile, --jsonl, --batch), the one builder of event-stream bytes, the OpenAPI
request checks, and `need()` for tests that run an external program."""
