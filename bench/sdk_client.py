"""The peer: the smallest script that does msgcli's job with the official SDK."""

import base64
import sys

import anthropic

args = sys.argv[1:]
stream = "--stream" in args
as_json = "--json" in args
image = args[args.index("-i") + 1] if "-i" in args else None
prompt = args[-1]
if not sys.stdin.isatty():
    data = sys.stdin.read()
    if data:
        prompt = data + "\n\n" + prompt
content = prompt
if image:
    with open(image, "rb") as f:
        encoded = base64.b64encode(f.read()).decode()
    content = [{"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                            "data": encoded}},
               {"type": "text", "text": prompt}]
client = anthropic.Anthropic()
request = dict(model="claude-opus-4-5", max_tokens=4096,
               messages=[{"role": "user", "content": content}])
out = sys.stdout
if stream and as_json:
    for event in client.messages.create(**request, stream=True):
        out.write(event.to_json(indent=None) + "\n")
        out.flush()
elif stream:
    with client.messages.stream(**request) as events:
        for text in events.text_stream:
            out.write(text)
            out.flush()
    out.write("\n")
else:
    reply = client.messages.create(**request)
    out.write("".join(b.text for b in reply.content if b.type == "text") + "\n")
