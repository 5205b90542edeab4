"""Message Batches (--jsonl --batch and the --batch-* commands): the API's batch
endpoints, the commands that submit, wait and collect, and the results as lines.
"""
