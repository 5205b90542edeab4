"""The floor for --jsonl's CPU per request: a bare requests.Session, N threads,
posting the bodies msgcli sends for one prompt per stdin line (a JSON string) to
the same server, each reply parsed and its text written as a result line, in
input order. No retries, no rate-limit gate, no checks: what any client built on
requests must spend.

    python bare_many.py N < prompts.jsonl   (ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY)
"""

import json
import os
import sys
import threading

import requests
from requests.adapters import HTTPAdapter


def main(parallel):
    url = os.environ["ANTHROPIC_BASE_URL"].rstrip("/") + "/v1/messages"
    headers = {"accept": "application/json", "anthropic-version": "2023-06-01",
               "content-type": "application/json", "user-agent": "bare/1",
               "x-api-key": os.environ["ANTHROPIC_API_KEY"],
               "accept-encoding": "identity"}
    prompts = [json.loads(line) for line in sys.stdin.buffer if line.strip()]
    results = [None] * len(prompts)
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=parallel))
    lock = threading.Lock()
    todo = iter(range(len(prompts)))

    def work():
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            body = json.dumps({"model": "claude-haiku-4-5", "max_tokens": 4096,
                               "messages": [{"role": "user", "content": prompts[i]}]},
                              ensure_ascii=False, separators=(",", ":")).encode()
            response = session.post(url, data=body, headers=headers)
            reply = json.loads(response.content)
            text = "".join(b["text"] for b in reply["content"] if b["type"] == "text")
            results[i] = json.dumps({"custom_id": str(i + 1), "status": 0, "text": text},
                                    ensure_ascii=False, separators=(",", ":"))

    threads = [threading.Thread(target=work) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sys.stdout.write("".join(line + "\n" for line in results))


if __name__ == "__main__":
    main(int(sys.argv[1]))
