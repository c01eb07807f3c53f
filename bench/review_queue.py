"""How fast the review queue and an approve are with a million records.

    .venv/bin/python bench/review_queue.py [--records N] [--postgres URL] [--explain] [--keep]
    .venv/bin/python bench/review_queue.py --database FILE   (measure a kept SQLite database again)

Builds a throwaway SQLite database (or fills the empty PostgreSQL database at URL) with
app/benchdata.py, as `flask bench-data` does: 20 sites of 500 spots, a million records
over 90 days with their scans and step results, the newest 50,000 waiting for review. The
build runs in a separate process; then, in a fresh app as a server would start, a site's
supervisor opens the review queue: its first page, its 50th page (reached by following
"Show more" 49 times) and the flagged filter, and approves records, each time a different
one; then the same pages for a supervisor made responsible for every site. Server times
are measured through Flask's test client, median of repeated requests,
with the SQL statements the median request ran. --explain prints the database's plan of
each statement on the record table. A PostgreSQL database is left filled.
Targets from issue 6: the queue's first and 50th page under 50 ms, an approve under 20 ms.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from html import unescape  # noqa: E402

from sqlalchemy import event, func, select, text  # noqa: E402

from app import benchdata, create_app  # noqa: E402
from bench.machine import describe  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Record, Site, User  # noqa: E402

RUNS = 50
SUPERVISOR = "site01-supervisor1"
REGIONAL = "site01-supervisor2"
HX = {"HX-Request": "true"}


def make_app(url: str, folder: str):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "PHOTO_DIR": f"{folder}/photos",
                       "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench",
                       "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})


def build_database(url: str, folder: str, records: int) -> None:
    with make_app(url, folder).app_context():
        db.create_all()
        try:
            benchdata.build(records=records)
        except benchdata.NotEmpty as refusal:
            if User.by_username(SUPERVISOR) is None:  # not bench data: leave it alone
                raise SystemExit(str(refusal)) from None
            print("The database already holds bench data: measured as it is.")
            benchdata.add_missing_indexes()


class Statements:
    """The SQL statements the app sends in a request, with the time the driver took to run
    each. Fetching the rows is not in it, and SQLite does part of a query's work while rows
    are fetched (all of it for a query that filters rows the index cannot), so the database
    time printed is a lower bound."""

    def __init__(self, engine):
        self.seen = []
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)

    def before(self, connection, cursor, statement, parameters, context, executemany):
        self.seen.append([statement, parameters, time.perf_counter()])

    def after(self, connection, cursor, statement, parameters, context, executemany):
        self.seen[-1][2] = time.perf_counter() - self.seen[-1][2]

    def ms(self) -> float:
        return sum(took for _, _, took in self.seen) * 1000


def request(client, statements, method: str, url: str, headers=None, expect=200) -> tuple:
    """(ms, SQL statements, ms of them in the database driver) of one request."""
    statements.seen.clear()
    started = time.perf_counter()
    response = client.open(url, method=method, headers=headers)
    took = (time.perf_counter() - started) * 1000
    assert response.status_code == expect, (url, response.status_code)
    return took, len(statements.seen), statements.ms()


def median(runs: list[tuple]) -> str:
    """The median request, and the SQL it ran."""
    took, queries, sql = sorted(runs)[len(runs) // 2]
    return f"{took:.1f} ms median ({queries} SQL statements, {sql:.1f} ms of it in the database)"


def show_more(response) -> str | None:
    """The address behind the page's "Show more" button, if it has one."""
    found = re.search(r'hx-get="(/review/\?[^"]*after=[^"]+)"', response.get_data(as_text=True))
    return unescape(found.group(1)) if found else None


def explain(app, statements, client, url: str) -> None:
    """The database's plan of each distinct statement on the record table the page runs."""
    statements.seen.clear()
    client.get(url)
    shown = set()
    with app.app_context():
        for statement, parameters, _ in list(statements.seen):
            if not re.search(r"\bFROM record\b", statement) or statement in shown:
                continue
            shown.add(statement)
            sqlite = db.engine.dialect.name == "sqlite"
            plan = db.session.connection().exec_driver_sql(
                ("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, parameters).all()
            print("   ", re.sub(r"SELECT .*? FROM", "SELECT ... FROM", " ".join(statement.split())))
            for row in plan:
                print("      ", row[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--postgres", metavar="URL",
                        help="an empty PostgreSQL database, e.g. postgresql+psycopg://...")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite database")
    parser.add_argument("--database", metavar="FILE",
                        help="measure this SQLite database, kept by an earlier --keep")
    options = parser.parse_args()
    if options.database:
        folder = tempfile.mkdtemp()
        try:
            app = make_app(f"sqlite:///{os.path.abspath(options.database)}", folder)
            with app.app_context():
                benchdata.add_missing_indexes()
            measure(app, options)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    folder = tempfile.mkdtemp()
    url = options.postgres or f"sqlite:///{folder}/bench.sqlite"
    try:
        builder = multiprocessing.get_context("spawn").Process(
            target=build_database, args=(url, folder, options.records))
        builder.start()
        builder.join()
        if builder.exitcode:
            raise SystemExit(f"the build failed (exit code {builder.exitcode})")
        measure(make_app(url, folder), options)
    finally:
        if options.keep and not options.postgres:
            print(f"database kept: {folder}/bench.sqlite")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def queue_pages(app, statements, username: str, who: str) -> tuple:
    """Log in, time the queue's pages as `username` sees them; (client, page 50's URL)."""
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": "bench1234"})
    assert response.status_code == 303, response.status_code
    page, number = "/review/", 1
    while number < 50 and (more := show_more(client.get(page, headers=HX))):
        page, number = more, number + 1
    size = app.config["REVIEW_PAGE_SIZE"]
    deep = f"{who}, page {number} (records {size * (number - 1) + 1}-{size * number})"
    pages = {f"{who}, first page:": ("/review/", None, " (target < 50 ms)"),
             f"{deep}, whole page:": (page, None, " (target < 50 ms)" if number == 50 else ""),
             f"{deep} as Show more loads it (htmx):": (page, HX, ""),
             f"{who}, flagged only, first page:": ("/review/?flagged=1", None, "")}
    runs = {name: [] for name in pages}
    for _ in range(RUNS):  # in turns, so that a busy moment of the machine hurts all alike
        for name, (url, headers, _target) in pages.items():
            runs[name].append(request(client, statements, "GET", url, headers))
    for name, (_url, _headers, target) in pages.items():
        print(name, median(runs[name]) + target)
    return client, page


def measure(app, options) -> None:
    with app.app_context():
        engine = db.engine
        version = db.session.execute(text(
            "SELECT sqlite_version()" if engine.dialect.name == "sqlite" else "SHOW server_version"
        )).scalar()
        supervisor = User.by_username(SUPERVISOR)
        site_id = supervisor.sites[0].id
        waiting = db.session.scalars(select(Record.id).where(
            Record.site_id == site_id, Record.status == "submitted")).all()
        # A regional manager: supervisor of every site.
        regional = User.by_username(REGIONAL)
        regional.sites = db.session.scalars(select(Site)).all()
        sites = len(regional.sites)
        db.session.commit()
        everywhere = db.session.scalar(select(func.count()).select_from(Record).where(
            Record.status == "submitted"))
    statements = Statements(engine)
    print(f"{describe()}; {engine.dialect.name} {version}")
    print(f"{SUPERVISOR}: one site, {len(waiting):,} records waiting for review")
    client, page = queue_pages(app, statements, SUPERVISOR, "review queue")
    chosen = iter(random.Random(6).sample(waiting, min(2 * RUNS, len(waiting))))
    htmx, plain = [], []
    for _ in range(min(RUNS, len(waiting) // 2)):
        htmx.append(request(client, statements, "POST", f"/review/{next(chosen)}/approve", HX))
        plain.append(request(client, statements, "POST", f"/review/{next(chosen)}/approve",
                             expect=303))
    print("approve, the card's button (htmx):", median(htmx), "(target < 20 ms)")
    print("approve, the form without script (redirect):", median(plain))
    print(f"{REGIONAL}, made supervisor of all {sites} sites: "
          f"{everywhere:,} records waiting")
    queue_pages(app, statements, REGIONAL, "all sites")

    if options.explain:
        for name, url in (("first page", "/review/"), ("page 50", page),
                          ("flagged", "/review/?flagged=1")):
            print(f"query plans, {name}:")
            explain(app, statements, client, url)


if __name__ == "__main__":
    main()
