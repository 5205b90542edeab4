"""Prompt caching and thinking display: the body fields --cache, --cache-ttl,
--cache-breakpoint and --show-thinking add once the body is built.

--cache sets the top-level cache_control, which makes the API place a breakpoint
on the last cacheable block itself (and move it as a conversation grows).
--cache-breakpoint marks blocks explicitly: the system prompt (turned into block
form, the only form that carries cache_control) and the last document of the new
turn, which caches every block before it too. The API allows four breakpoints;
msgcli adds at most two. One TTL serves all of them, which keeps the API's rule
that 1h entries come before 5m ones.
"""


def cache_control(opts):
    """The cache_control object for these options, or None when caching is off."""
    if not (opts.cache or opts.cache_ttl or opts.cache_breakpoint):
        return None
    control = {"type": "ephemeral"}
    if opts.cache_ttl:
        control["ttl"] = opts.cache_ttl
    return control


def top_level(opts):
    """The top-level cache_control: with --cache or --cache-ttl only, so that
    --cache-breakpoint alone marks just what it names."""
    return cache_control(opts) if (opts.cache or opts.cache_ttl) else None


def mark_breakpoints(body, opts, turn):
    """Put cache_control on the system prompt and/or the new turn's last document."""
    control = cache_control(opts)
    if "system" in opts.cache_breakpoint and body.get("system"):
        system = body["system"]
        if isinstance(system, str):
            body["system"] = [{"type": "text", "text": system, "cache_control": control}]
        elif isinstance(system, list) and system and isinstance(system[-1], dict):
            body["system"] = system[:-1] + [{**system[-1], "cache_control": control}]
    if "documents" in opts.cache_breakpoint and turn and \
            isinstance(turn.get("content"), list):
        # on a copy: the turn saved by -c keeps no breakpoint, so marks never pile
        # up past the API's four over a conversation
        blocks = list(turn["content"])
        last = max((i for i, b in enumerate(blocks) if b.get("type") == "document"),
                   default=None)
        if last is not None:
            blocks[last] = {**blocks[last], "cache_control": control}
            body["messages"] = [{**m, "content": blocks} if m is turn else m
                                for m in body["messages"]]


def show_thinking(body):
    """--show-thinking: ask for summarized thinking whenever thinking is on, as some
    models default to "omitted" and would show nothing."""
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
        body["thinking"] = {**thinking, "display": "summarized"}
