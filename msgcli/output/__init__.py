"""What the user sees: the console (stdout for the answer, stderr for people, both
redacted), rendering a reply, and the progress line.
"""
