"""The command line: the click command, its option types, the --help layout, and
the failure gate that turns whatever a run raises into one line and an exit status.
"""
