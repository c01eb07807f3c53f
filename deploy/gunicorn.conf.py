"""Gunicorn settings for Rounds: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Read from the environment the service gets (deploy/rounds.env.example):
WEB_CONCURRENCY (worker processes) and GUNICORN_BIND (address to listen on).
"""
import os

# The cores this process may run on (a container or CPU pinning may give fewer than the machine's).
_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
_sqlite = os.environ.get("DATABASE_URL", "sqlite:").startswith("sqlite:")


def _workers() -> int:
    """WEB_CONCURRENCY wins. Otherwise gunicorn's rule of thumb, 2 × cores + 1, which fits
    PostgreSQL; SQLite has one writer at a time, so more than 4 workers only queue on its
    lock (2-4 is the sane range there)."""
    if os.environ.get("WEB_CONCURRENCY"):
        return int(os.environ["WEB_CONCURRENCY"])
    return min(2 * _cores + 1, 4) if _sqlite else 2 * _cores + 1


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _workers()

# Sync workers: nginx reads every request body in full (phone photos over a slow network
# included) before it passes the request on, and buffers the response, so a worker is only
# busy for the app's own work and never waits on a slow client.
worker_class = "sync"

# A request slower than this has its worker killed and restarted (a 502 at nginx, whose
# proxy_read_timeout is a little longer). The slowest pages take a few seconds.
timeout = 60
# On stop or reload, requests under way get this long to finish (systemd waits longer).
graceful_timeout = 30

# Replace each worker after about ten thousand requests, so memory that decoding large
# photos leaves fragmented is given back; the jitter keeps workers from restarting together.
# Not much sooner: a new worker imports the app again, about 2 s of CPU.
max_requests = 10000
max_requests_jitter = 1000

# The heartbeat file workers touch is better in memory than on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# To stdout and stderr, where journald (or any process supervisor) collects them.
accesslog = "-"
errorlog = "-"
loglevel = "info"
# The phone's address as nginx saw it (X-Forwarded-For), then REMOTE_ADDR as the app left it
# (the same address once FLASK_PROXY_FIX_X_FOR has taken it from the header; nginx's without),
# the request, status, response bytes, time taken in milliseconds, referrer, user agent.
access_log_format = ('%({x-forwarded-for}i)s %(h)s "%(r)s" %(s)s %(B)s %(M)sms '
                     '"%(f)s" "%(a)s"')
proc_name = "rounds"
