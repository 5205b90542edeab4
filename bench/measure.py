"""Runs one command and reports its wall time, peak RSS and CPU time as JSON.

Started with `python -S` so that it is small: Linux carries a parent's resident-set
high-water mark into a forked child's ru_maxrss, so the benchmark runner (which holds
the server's canned replies) must not be the measured command's parent.
"""

import json
import os
import sys
import time

argv, stdin_path, stdout_path = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
fd_in = os.open(stdin_path or os.devnull, os.O_RDONLY)
fd_out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
started = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ,
                     file_actions=[(os.POSIX_SPAWN_DUP2, fd_in, 0),
                                   (os.POSIX_SPAWN_DUP2, fd_out, 1)])
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
print(json.dumps([wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status),
                  usage.ru_utime + usage.ru_stime]))
