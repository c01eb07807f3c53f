"""Four processes writing to one SQLite database for a minute: locked errors and lost records.

    .venv/bin/python bench/sqlite_writers.py [seconds]      (make bench-sqlite)

Builds a throwaway SQLite database with the demo, then starts four processes, each a
whole app as a gunicorn worker would have it. Three are field workers: each opens a
label (the scan is written) and submits its checklist with a photo, over and over. The
fourth is a supervisor approving what arrives and opening the dashboard. Every request
goes through the app (Flask's test client, exceptions propagated), so a "database is
locked" anywhere is counted. At the end the parent process counts, in the database,
every record a worker was told was saved: a missing one is lost.
Target from issue 6: zero "database is locked" errors and zero lost submissions.
"""
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe  # noqa: E402

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 60
FIELD = [("guard", "CP-04"), ("cleaner", "CZ-01"), ("tech", "EQ-WP-01")]


def make_app(url, photos):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "PHOTO_DIR": photos, "SECRET_KEY": "bench",
                       "WTF_CSRF_ENABLED": False, "PROPAGATE_EXCEPTIONS": True,
                       "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})


def photo(seed: int) -> bytes:
    from PIL import Image

    out = BytesIO()
    Image.effect_noise((1200, 900), 40 + seed % 50).convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def spot_form(app, code):
    """The spot's token, submit URL and checklist answers, read once."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Site, Spot

    with app.app_context():
        spot = db.session.scalar(select(Spot).join(Site).where(
            Spot.code == code, Site.name_en == "Green Lake Gardens"))
        version = spot.sop.current
        data = {"version_id": str(version.id), "fingerprint": version.fingerprint()}
        photo_fields = []
        for step in version.steps:
            data[f"step-{step.id}"] = {"tick": "ok", "reading": str(step.min_value or 1),
                                       "text": "ok"}[step.kind]
            if step.photo_required:
                photo_fields.append(f"photo-{step.id}")
        return spot.token, f"/spots/{spot.id}/records", data, photo_fields


def worker(url, photos, role, deadline, results):
    """One process, requests only, each in its own app context as on a server:
    (username, requests, saved keys, locked errors, other errors)."""
    username, code = role
    app = make_app(url, photos)
    saved, locked, other, requests = [], 0, [], 0
    client = app.test_client()
    client.post("/login", data={"username": username, "password": "demo1234"})
    if code is None:
        site_page = "/reports/"
    else:
        token, action, answers, photo_fields = spot_form(app, code)
        picture = photo(os.getpid())
    while time.monotonic() < deadline:
        try:
            if code is None:  # the supervisor: approve the oldest waiting, look at the day
                page = client.get("/review/").get_data(as_text=True)
                ids = re.findall(r'/review/(\d+)/approve', page)[:3]
                for ident in ids:
                    client.post(f"/review/{ident}/approve")
                client.get(site_page)
                requests += 2 + len(ids)
                continue
            page = client.get(f"/t/{token}").get_data(as_text=True)
            scan_id = re.search(r'name="scan_id" value="(\d+)"', page).group(1)
            key = uuid.uuid4().hex
            data = {**answers, "submission_key": key, "scan_id": scan_id,
                    **{name: (BytesIO(picture), "p.jpg") for name in photo_fields}}
            response = client.post(action, data=data, content_type="multipart/form-data")
            requests += 2
            if response.status_code == 303:
                saved.append(key)
            else:
                other.append(f"HTTP {response.status_code}")
        except Exception as error:  # noqa: BLE001 - counted, whatever it is
            if "database is locked" in str(error):
                locked += 1
            else:
                other.append(f"{error.__class__.__name__}: {str(error)[:120]}")
    results.put((username, requests, saved, locked, other))


def main():
    folder = tempfile.mkdtemp(prefix="rounds-sqlite-")
    try:
        measure(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure(folder: str):
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import demo
    from app.extensions import db
    from app.models import Record

    url, photos = f"sqlite:///{folder}/bench.sqlite", f"{folder}/photos"
    app = make_app(url, photos)
    with app.app_context():
        upgrade()
        demo.load()
        journal = db.session.connection().exec_driver_sql("PRAGMA journal_mode").scalar()
        db.session.commit()
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    deadline = time.monotonic() + 15 + SECONDS  # time for the processes to start
    processes = [context.Process(target=worker, args=(url, photos, role, deadline, results))
                 for role in [*FIELD, ("supervisor", None)]]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=SECONDS + 120) for _ in processes]
    for process in processes:
        process.join()
    keys = [key for _, _, saved, _, _ in outcomes for key in saved]
    with app.app_context():
        stored = db.session.scalar(select(func.count()).select_from(Record)
                                   .where(Record.submission_key.in_(keys)))
    print(f"{describe()}; SQLite journal mode {journal}")
    print(f"Four processes for about {SECONDS} s on one SQLite database:")
    for username, requests, saved, locked, other in outcomes:
        print(f"  {username:10} {requests:5d} requests, {len(saved):4d} records saved, "
              f"{locked} 'database is locked', {len(other)} other errors")
        for line in sorted(set(other))[:5]:
            print(f"      {line}")
    locked = sum(o[3] for o in outcomes)
    print(f"Records saved: {len(keys)} ({len(keys) / SECONDS:.1f}/s, each with a photo); "
          f"found in the database: {stored}; lost: {len(keys) - stored}; "
          f"'database is locked': {locked}")


if __name__ == "__main__":
    main()
