"""gunicorn's settings for the WSGI processes (pages, forms and uploads), read with
`gunicorn -c config/gunicorn.py config.wsgi:application`; the benchmarks serve with it too.
Options given on the command line win (e.g. `--bind`).

- A worker process per core (WEB_CONCURRENCY to change), each with 4 threads (WEB_THREADS): a
  learner's 64 MiB upload part arrives unbuffered at the speed of their connection, and must
  not hold up a whole process while it does.
- `reuse_port`: each worker listens on its own socket (SO_REUSEPORT) and the kernel spreads new
  connections across them. With one shared socket, whichever worker woke first accepted a burst
  of keep-alive connections, and that one worker then served them alone: under
  `bench/run.py queue` (16 connections, 2 workers), one worker got about a third of the other's
  CPU in half the rounds, and pages ran at a third of their speed in those rounds; with
  `reuse_port`, 16 rounds out of 16 were even.
"""

from __future__ import annotations

import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS") or 4)
reuse_port = True
