"""What the user gives: bounded reading of files and stdin, the new user turn,
images and documents, and conversation files.
"""
