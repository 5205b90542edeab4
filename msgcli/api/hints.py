"""Hints for the HTTP 400s of newer models: which msgcli flag caused the error and
what to use instead.

Keyed on the API's own error message (a case-insensitive substring), never on a
list of models, which would go stale. The SDK warns that the wording "can change,
so don't match on it": a hint is best effort, and the API's message is always
shown in full beside it. The strings are those seen in real 400 bodies (see
/work/notes/sdk-facts.md §8 for their sources).
"""

import re

# (substring of the API's message, hint); the first match wins, so more specific
# keys come first.
HINTS = (
    ("assistant message prefill",
     "this model refuses a prefill (-p/--prefill, or a final assistant turn in -f/-c): "
     "drop it, and use --schema instead of -p '{' for JSON"),
    ("cannot both be specified",
     "give --temperature or --top-p, not both"),
    ("extra inputs are not permitted",
     "{fields} is not part of --api-version 2026-10-21: drop {flags} (or the field in "
     "-f/--extra), or pass --api-version 2023-06-01"),
    ("is deprecated for this model",
     "this model takes no {fields}: drop {flags} (or the field in -f/--extra); it "
     "samples at its defaults"),
    ('"thinking.type.enabled" is not supported',
     "use --thinking adaptive (with --effort) instead of --thinking BUDGET"),
    ("adaptive thinking is not supported",
     "use --thinking BUDGET (e.g. --thinking 2048) instead of --thinking adaptive"),
    ('"thinking.type.disabled" is not supported',
     "drop --thinking off; use --thinking adaptive with --effort low for little "
     "thinking"),
    ("tool_choice forces tool use",
     "--tool-choice any or NAME forces a tool, which thinking forbids: use "
     "--tool-choice auto, or --thinking off"),
    ('type "tool" and "any" are not supported',
     "this model takes no forced tool: use --tool-choice auto (or drop --tool-choice)"),
    ("is not supported when thinking is disabled",
     "use --effort high or below, or turn thinking on (--thinking adaptive)"),
    ("must be greater than `thinking.budget_tokens`",
     "raise -t/--max-tokens above the --thinking budget, or lower the budget"),
    ("must be greater than thinking.budget_tokens",
     "raise -t/--max-tokens above the --thinking budget, or lower the budget"),
)

_SAMPLING = {"temperature": "--temperature", "top_p": "--top-p", "top_k": "--top-k"}


def for_message(message):
    """The hint for an API error message, or None."""
    if not message:
        return None
    lowered = message.lower()
    for key, hint in HINTS:
        if key.lower() in lowered:
            if "{fields}" not in hint:
                return hint
            named = [name for name in _SAMPLING
                     if re.search(rf"(?<![a-z_]){name}(?![a-z_])", lowered)]
            if not named:  # about another field: no flag of msgcli's to name
                continue
            return hint.replace("{fields}", "/".join(named)).replace(
                "{flags}", "/".join(_SAMPLING[n] for n in named))
    return None
