"""The network: the transport (retries, timeouts, waits), the transport the --jsonl
workers share, the rate-limit gate, chunked and body reading, network errors.
"""
