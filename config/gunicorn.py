"""gunicorn's settings for the WSGI processes (pages, forms and uploads), read with
`gunicorn -c config/gunicorn.py config.wsgi:application`; the benchmarks serve with it too.
Options given on the command line win (e.g. `--bind`).

- A worker process per core this process may run on (WEB_CONCURRENCY to change), each with 4
  threads (WEB_THREADS): a learner's 64 MiB upload part arrives unbuffered at the speed of
  their connection, and must not hold up a whole process while it does. Each thread keeps a
  database connection: workers x threads of them, within PostgreSQL's max_connections.
- On TCP, each worker listens on its own socket (`reuse_port`, SO_REUSEPORT) and the kernel
  spreads new connections across them. With one shared socket, whichever worker woke first
  accepted a burst of keep-alive connections and then served them alone: under
  `bench/run.py queue` (16 connections, 2 workers), one worker got about a third of the
  other's CPU in half the rounds, and pages ran at a third of their speed in those rounds;
  with a socket per worker, 16 rounds out of 16 were even. A Unix socket, sockets handed over
  by systemd or by gunicorn's own upgrade (USR2) stay shared (see `on_starting`).
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from typing import Any

from config.env import Env, exit_on_env_error

with exit_on_env_error():
    _env = Env()
    bind = _env.string("WEB_BIND", "127.0.0.1:8001")
    # WEB_CONCURRENCY is gunicorn's own variable too: it reads it first, with its own errors.
    workers = _env.integer("WEB_CONCURRENCY", len(os.sched_getaffinity(0)), minimum=1)
    threads = _env.integer("WEB_THREADS", 4, minimum=1)
worker_class = "gthread"
reuse_port = True


def on_starting(server: Any) -> None:
    """Keep a socket per worker only where it works, and refuse an address in use.

    gunicorn gives each worker its own socket when `reuse_port` is on, binding none itself:
    for a Unix socket each worker would replace the last one's file (only one worker
    reachable), sockets passed down by systemd or an upgrade would go unused, and an address
    already taken would make every worker fail to bind while the master restarts them
    forever, or, if the holder also set SO_REUSEPORT, share its traffic silently."""
    addresses = server.cfg.address
    inherited = "LISTEN_FDS" in os.environ or "GUNICORN_FD" in os.environ
    if inherited or not all(isinstance(address, tuple) for address in addresses):
        server.cfg.set("reuse_port", False)
        return
    for host, port in addresses:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                sys.exit(f"gunicorn: {host}:{port} is already in use by another process")
