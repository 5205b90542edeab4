"""Event streams: the SSE wire format, the accumulator that folds events into a
Message, and the fast path through runs of text deltas.
"""
