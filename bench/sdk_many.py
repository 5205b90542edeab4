"""The peer for --jsonl: the official SDK's AsyncAnthropic with N concurrent tasks,
one prompt per stdin line (a JSON string), results printed in input order.

    python sdk_many.py N < prompts.jsonl   (MAX_RETRIES in the environment: retries)
"""

import asyncio
import json
import os
import sys

import anthropic


async def main(tasks):
    client = anthropic.AsyncAnthropic(max_retries=int(os.environ.get("MAX_RETRIES", "2")))
    prompts = [json.loads(line) for line in sys.stdin if line.strip()]
    results = [None] * len(prompts)
    queue = asyncio.Queue()
    for item in enumerate(prompts):
        queue.put_nowait(item)

    async def worker():
        while not queue.empty():
            i, prompt = queue.get_nowait()
            try:
                reply = await client.messages.create(
                    model="claude-opus-4-5", max_tokens=4096,
                    messages=[{"role": "user", "content": prompt}])
                results[i] = {"custom_id": str(i + 1), "status": 0,
                              "text": "".join(b.text for b in reply.content
                                              if b.type == "text")}
            except anthropic.APIError as e:
                results[i] = {"custom_id": str(i + 1), "status": 1, "error": str(e)}

    await asyncio.gather(*(worker() for _ in range(tasks)))
    out = sys.stdout
    for result in results:
        out.write(json.dumps(result) + "\n")
    return all(r["status"] == 0 for r in results)


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(main(int(sys.argv[1]))) else 9)
