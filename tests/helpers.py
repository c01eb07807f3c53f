"""Small builders used by several test modules."""
import os
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db
from app.models import Audit

# Set by .ci/run: a test that needs a missing program fails there instead of skipping.
CI = os.environ.get("CI") == "true"


def require(present: bool, message: str) -> None:
    """Skip loudly without a program a test needs; in CI, fail."""
    if present:
        return
    if CI:
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(f"!!! TEST SKIPPED: {message}")


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audits(action: str) -> list:
    return db.session.scalars(select(Audit).where(Audit.action == action)).all()


def html(response) -> str:
    return response.get_data(as_text=True)


def jpeg(width=800, height=600, color=(200, 30, 30)) -> bytes:
    buf = BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "JPEG")
    return buf.getvalue()


def answers(spot, **overrides) -> dict:
    """A complete, valid form for the spot's current SOP, with photos where required."""
    data = {"submission_key": overrides.pop("key", "a" * 32),
            "version_id": str(spot.sop.current.id), "note": "",
            "fingerprint": spot.sop.current.fingerprint()}
    for step in spot.sop.current.steps:
        if step.kind == "tick":
            data[f"step-{step.id}"] = "ok"
        elif step.kind == "reading":
            low = step.min_value if step.min_value is not None else 0
            high = step.max_value if step.max_value is not None else low + 10
            data[f"step-{step.id}"] = f"{(low + high) / 2:g}"
        else:
            data[f"step-{step.id}"] = "fine"
        if step.photo_required:
            data[f"photo-{step.id}"] = (BytesIO(jpeg()), "photo.jpg")
    data.update(overrides)
    return data


def record_at(client, spot, at, key, **overrides):
    """Scan the spot's label, submit its SOP, and date the record `at` (naive UTC)."""
    from app.models import Record, Scan

    client.get(f"/t/{spot.token}")
    scan = db.session.scalar(select(Scan).where(Scan.spot_id == spot.id).order_by(Scan.id.desc()))
    response = client.post(f"/spots/{spot.id}/records",
                           data=answers(spot, key=key, scan_id=str(scan.id), **overrides),
                           content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    record = db.session.scalar(select(Record).where(Record.submission_key == key))
    assert record.scan_id == scan.id
    record.submitted_at = at
    db.session.commit()
    return record


def at_once(app, *requests) -> list:
    """Run the requests (functions taking no arguments) in threads released together, as
    two phones would send them; their results, in the order given. The functions must not
    touch the test's database session: read ids before."""
    import threading

    start = threading.Barrier(len(requests))
    results = [None] * len(requests)

    def run(index, request):
        with app.app_context():
            start.wait(timeout=20)
            results[index] = request()

    # The test's own transaction ends before and after: on SQLite (WAL) a transaction reads
    # the database as it was when it began, and the test must see what the threads wrote.
    db.session.commit()
    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.commit()
    return results
