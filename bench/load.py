"""Requests per second and simulated field users under gunicorn, on a million records.

    .venv/bin/python bench/load.py [--database FILE | --postgres URL] [--records N]
                                   [--seconds 10] [--rounds 3] [--users 50]
                                   [--minutes 5]

The data: an SQLite file kept by `bench/review_queue.py --keep` (--database), a PostgreSQL
database (--postgres: filled by `flask bench-data` if empty), or else a new SQLite database
built the same way in a temporary folder (about 4 minutes). The app runs under gunicorn with
deploy/gunicorn.conf.py (its workers: 4 on SQLite with two cores), on loopback, with the
development settings: plain HTTP, so the cookies may not be Secure. Then:

1. wrk, one thread and 8 connections for --seconds on each route in turn, --rounds times
   over, logged in as a guard: the scan page (/t/<label>: checks the login, logs the scan,
   renders the checklist) against three trivial routes of the same app: /healthz (one
   SELECT 1, no login), /offline/session (loads the logged-in user, answers a form token in
   JSON) and /outbox (loads the logged-in user and renders the layout every page has, with
   no data of its own). Target from issue 6: the scan page serves at least half what a
   trivial route serves.
2. Locust (bench/locustfile.py), --users simulated users for --minutes: field workers scan a
   label and submit it with a photo, supervisors approve. Target: under 1 % failures, p95
   under 300 ms.

wrk and Locust run on the same two cores as the server: the figures are what this machine
does with both, as the issue asks (loopback).
"""
import argparse
import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench"))

from sqlalchemy import func, select  # noqa: E402

from app import benchdata, create_app  # noqa: E402
from bench.machine import describe  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Site, Spot, User  # noqa: E402
from app.photos import process  # noqa: E402
from upload import camera_photo  # noqa: E402

PASSWORD = "bench1234"
GUARD = "site01-guard1"
# Which spots each field role does in the bench data (app/benchdata.py).
KIND_OF = {"guard": "checkpoint", "cleaner": "zone", "technician": "equipment"}
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill(url: str, records: int) -> None:
    """`flask bench-data` on an empty database (a filled one is left as it is)."""
    env = {**os.environ, "DATABASE_URL": url}
    with create_app({"SQLALCHEMY_DATABASE_URI": url}).app_context():
        db.create_all()
        if db.session.scalar(select(User.id).limit(1)) is not None:
            benchdata.add_missing_indexes()
            return
    subprocess.run([BIN / "flask", "--app", "wsgi", "bench-data", "--records", str(records)],
                   cwd=ROOT, env=env, check=True)


def people(url: str, folder: str) -> str:
    """The accounts and labels the simulated users take, as a JSON file for the locustfile."""
    with create_app({"SQLALCHEMY_DATABASE_URI": url}).app_context():
        field, supervisors = [], []
        for user in db.session.scalars(select(User).order_by(User.username)):
            role = next(iter(user.roles & set(KIND_OF)), None)
            site = user.sites[0] if user.sites else None
            if "supervisor" in user.roles:
                supervisors.append(user.username)
            elif role and site:
                tokens = db.session.scalars(select(Spot.token).where(
                    Spot.site_id == site.id, Spot.kind == KIND_OF[role], Spot.active)
                    .order_by(Spot.code).limit(25)).all()
                field.append({"username": user.username, "tokens": tokens})
        sites = db.session.scalar(select(func.count(Site.id)))
    photo = Path(folder, "photo.jpg")
    # About what a phone sends after its script shrank a camera photo to 1600 px.
    photo.write_bytes(process(camera_photo()).jpeg)
    path = Path(folder, "people.json")
    path.write_text(json.dumps({"field": field, "supervisors": supervisors,
                                "password": PASSWORD, "photo": str(photo)}))
    print(f"data: {sites} sites, {len(field)} field workers, {len(supervisors)} supervisors")
    return str(path)


def start_gunicorn(url: str, folder: str, port: int) -> subprocess.Popen:
    os.makedirs(f"{folder}/photos", exist_ok=True)
    env = {**os.environ, "DATABASE_URL": url, "GUNICORN_BIND": f"127.0.0.1:{port}",
           "FLASK_PHOTO_DIR": f"{folder}/photos", "FLASK_SECRET_KEY": "bench-" + "x" * 40}
    server = subprocess.Popen([BIN / "gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
                              cwd=ROOT, env=env, stdout=open(f"{folder}/access.log", "w"),
                              stderr=open(f"{folder}/gunicorn.log", "w"))
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not answer:\n" + Path(folder, "gunicorn.log").read_text())


def logged_in_cookie(base: str, username: str) -> str:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD,
                                   "csrf_token": token}).encode()
    opener.open(f"{base}/login", form)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def wrk(url: str, cookie: str, seconds: int) -> tuple[float, str]:
    """(requests per second, latency line) of wrk on one URL; fails on an answer of 400 or
    more, a socket error or a timeout (wrk leaves those out of its latencies)."""
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    with urllib.request.urlopen(request) as first:  # a redirect to the login would count as fast
        if first.status != 200 or first.url != url:
            raise SystemExit(f"{url} answers {first.status} at {first.url}, not the page")
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", "--timeout", "30s", "--latency",
                          "-H", f"Cookie: {cookie}", url],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in out or "Socket errors" in out:
        raise SystemExit(f"wrk got errors from {url}:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = re.search(r"^\s+50%\s+(\S+).*?^\s+99%\s+(\S+)", out, re.S | re.M)
    return rate, f"median {latency.group(1)}, p99 {latency.group(2)}"


WRK_ROUTES = (("scan page /t/<label>", "/t/{token}"),
              ("trivial /healthz", "/healthz"),
              ("trivial /offline/session", "/offline/session"),
              ("trivial page /outbox", "/outbox"))


def scan_against_trivial(base: str, url: str, seconds: int, rounds: int) -> None:
    """wrk on each route in turn, --rounds times over: a ratio compares runs seconds apart,
    not minutes, so this shared machine's changes of speed move both of its figures."""
    cookie = logged_in_cookie(base, GUARD)
    with create_app({"SQLALCHEMY_DATABASE_URI": url}).app_context():
        site = User.by_username(GUARD).sites[0]
        token = db.session.scalar(select(Spot.token).where(
            Spot.site_id == site.id, Spot.kind == "checkpoint").order_by(Spot.code))
    wrk(f"{base}/t/{token}", cookie, 3)  # warm the workers up
    rates = {name: [] for name, _ in WRK_ROUTES}
    latency = {}
    for _ in range(rounds):
        for name, path in WRK_ROUTES:
            rate, latency[name] = wrk(base + path.format(token=token), cookie, seconds)
            rates[name].append(rate)
    for name, runs in rates.items():
        each = " / ".join(f"{rate:.0f}" for rate in runs)
        print(f"wrk, {rounds} x {seconds} s, 8 connections: {name}: {sum(runs) / rounds:.0f} "
              f"requests/s (rounds: {each}; last round {latency[name]})")
    scan = rates[WRK_ROUTES[0][0]]
    for name, _ in WRK_ROUTES[1:]:
        each = " / ".join(f"{a / b:.2f}" for a, b in zip(scan, rates[name]))
        print(f"scan page / {name}: {sum(scan) / sum(rates[name]):.2f} (rounds: {each}; "
              "target at least 0.5)")


# The access log's request, status and milliseconds (deploy/gunicorn.conf.py's format).
ACCESS = re.compile(r'"(\w+) (\S+) HTTP/[\d.]+" (\d+) \S+ (\d+)ms')
ROUTES = [(re.compile(pattern), name) for pattern, name in (
    (r"/t/", "GET /t/<label>"), (r"/spots/\d+/records", "POST /spots/<id>/records"),
    (r"/records/\d+", "GET /records/<id> (after submit)"),
    (r"/review/\d+/approve", "POST /review/<id>/approve"),
    (r"/review/", "GET /review/"), (r"/login", "/login"))]


def server_times(log: Path, start: int) -> None:
    """Percentiles of the server's own time per route, from gunicorn's access log after
    byte `start`: what the app took, without the client's side of the machine."""
    times = {}
    with open(log, encoding="utf-8", errors="replace") as f:
        f.seek(start)
        for line in f:
            found = ACCESS.search(line)
            if found is None:
                continue
            method, path, _status, ms = found.groups()
            name = next((name for pattern, name in ROUTES if pattern.match(path)), None)
            if name:
                times.setdefault(name, []).append(int(ms))
    everything = sorted(ms for values in times.values() for ms in values)
    print("  server time per request (gunicorn's access log):")
    for name, values in [*times.items(), ("all", everything)]:
        values.sort()
        pick = lambda share: values[min(len(values) - 1, int(len(values) * share))]  # noqa: E731
        print(f"    {name:34} {len(values):6} requests, median {pick(0.5)} ms, "
              f"p95 {pick(0.95)} ms, p99 {pick(0.99)} ms")


def locust(base: str, people_file: str, users: int, minutes: float, folder: str) -> None:
    prefix = f"{folder}/locust"
    log = Path(folder, "access.log")
    start = log.stat().st_size
    subprocess.run([BIN / "locust", "-f", str(ROOT / "bench/locustfile.py"), "--headless",
                    "--host", base, "--users", str(users), "--spawn-rate", str(max(1, users // 10)),
                    "--run-time", f"{int(minutes * 60)}s", "--csv", prefix, "--only-summary",
                    "--loglevel", "WARNING"],
                   env={**os.environ, "ROUNDS_BENCH_PEOPLE": people_file}, check=False,
                   stdout=subprocess.DEVNULL, stderr=open(f"{folder}/locust.log", "w"))
    with open(f"{prefix}_stats.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    print(f"locust, {users} users for {minutes:g} min (field workers 9 : supervisors 1, paced "
          f"as bench/locustfile.py says), {float(total['Requests/s']):.1f} requests/s:")
    for row in rows:
        print(f"  {row['Type']:4} {row['Name']:34} {int(row['Request Count']):6} requests, "
              f"{int(row['Failure Count']):4} failed, median {row['50%']} ms, "
              f"p95 {row['95%']} ms, p99 {row['99%']} ms")
    share = int(total["Failure Count"]) / max(1, int(total["Request Count"])) * 100
    print(f"  failures {share:.2f} % (target under 1 %), p95 {total['95%']} ms "
          "(target under 300 ms)")
    with open(f"{prefix}_failures.csv", newline="") as f:
        for row in csv.DictReader(f):
            print(f"  failure: {row['Method']} {row['Name']}: {row['Error']} "
                  f"×{row['Occurrences']}")
    server_times(log, start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", metavar="FILE", help="an SQLite file of bench data")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL database")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10, help="of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="of wrk on each route in turn")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=5, help="of Locust (0: wrk only)")
    options = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")
    folder = tempfile.mkdtemp()
    url = options.postgres or (f"sqlite:///{os.path.abspath(options.database)}"
                               if options.database else f"sqlite:///{folder}/bench.sqlite")
    server = None
    try:
        fill(url, options.records)
        people_file = people(url, folder)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_gunicorn(url, folder, port)
        print(f"{describe()}; {url.split(':')[0]}")
        scan_against_trivial(base, url, options.seconds, options.rounds)
        if options.minutes:
            locust(base, people_file, options.users, options.minutes, folder)
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
