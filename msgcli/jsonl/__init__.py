"""Many prompts (--jsonl): the line format, the runner that sends -P requests at a
time, the resumable journal of results, and the tally and its progress line.
"""
