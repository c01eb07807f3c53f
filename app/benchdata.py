"""A large made-up dataset to measure speed on (`flask bench-data`, bench/review_queue.py).

Sites of 500 spots, each spot with an SOP of 3-5 steps (ticks, a reading with a range, a
text); a few field workers and two supervisors per site; records spread over the last 90
days, each with its label scan and one row per step. About 1 % are anomalies and 3 %
flagged; the newest 5 % wait for review, the rest are approved but for 0.5 % sent back,
each redone by its worker half an hour later. Seeded, so two builds tell the same story.

Rows are written with Core bulk inserts in batches, with their ids given, so that a
million records take minutes rather than hours. Meant for an empty database only.
"""
import heapq
import random
import time
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text

from .extensions import db
from .models import Record, Review, Scan, Site, Sop, SopVersion, Spot, Step, StepResult, User
from .models.base import utcnow
from .models.spots import new_token

SPOTS_PER_SITE = 500
DAYS = 90
PENDING_SHARE = 0.05  # 50,000 of a million
ANOMALY_SHARE = 0.01
FLAGGED_SHARE = 0.03
SENT_BACK_SHARE = 0.005  # of the reviewed ones
SENT_BACK_REASON = "照片看不清仪表读数，请重拍 (bench data)"
BATCH = 10_000  # rows an INSERT sends
PROGRESS = 100_000  # records a transaction writes, then says so
AGENT = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 MicroMessenger/8.0 (bench data)"
# (username suffix, roles): a few field workers and two supervisors per site.
PEOPLE = [("guard1", "guard"), ("guard2", "guard"), ("cleaner1", "cleaner"),
          ("cleaner2", "cleaner"), ("tech1", "technician"),
          ("supervisor1", "supervisor"), ("supervisor2", "supervisor")]
T, R, X = "tick", "reading", "text"
# (spot kind, who does it, spot name zh/en, SOP name zh/en, steps (kind, zh, en, unit, min, max))
TEMPLATES = [
    ("checkpoint", "guard", "车库", "Car park", "车库巡查", "Car park patrol", [
        (T, "照明正常", "Lighting works", "", None, None),
        (T, "消防通道畅通", "Fire lanes clear", "", None, None),
        (R, "一氧化碳浓度", "Carbon monoxide level", "ppm", 0, 24),
        (X, "备注", "Remarks", "", None, None)]),
    ("checkpoint", "guard", "门岗", "Gate", "门岗巡更", "Gate patrol", [
        (T, "门窗已锁好", "Doors and windows locked", "", None, None),
        (R, "岗亭温度", "Booth temperature", "°C", 5, 35),
        (X, "备注", "Remarks", "", None, None)]),
    ("zone", "cleaner", "大堂", "Lobby", "大堂保洁", "Lobby cleaning", [
        (T, "地面已拖净、无水渍", "Floor mopped, no wet patches", "", None, None),
        (T, "玻璃门已擦拭", "Glass doors wiped", "", None, None),
        (T, "垃圾桶已清空", "Bins emptied", "", None, None),
        (R, "消毒液浓度", "Disinfectant strength", "mg/L", 250, 500),
        (X, "备注", "Remarks", "", None, None)]),
    ("equipment", "technician", "生活水泵", "Water pump", "水泵巡检", "Water pump inspection", [
        (R, "出水压力", "Outlet pressure", "MPa", 0.25, 0.45),
        (T, "运行声音正常", "Running noise normal", "", None, None),
        (T, "管道阀门无渗漏", "No leaks at pipes and valves", "", None, None),
        (X, "值班记录", "Duty log entry", "", None, None)]),
    ("equipment", "technician", "配电室", "Switchgear room", "配电室巡检", "Switchgear inspection", [
        (R, "母线电压", "Busbar voltage", "V", 380, 420),
        (T, "无异味、无异响", "No unusual smell or noise", "", None, None),
        (X, "值班记录", "Duty log entry", "", None, None)]),
]


class NotEmpty(Exception):
    """The database already holds sites: bench data would mix with real or demo data."""


def build(sites: int = 20, records: int = 1_000_000, password: str = "bench1234",
          now: datetime | None = None, echo=print, seed: int = 6) -> dict:
    """Fill an empty database; the number of rows made, by table."""
    if db.session.scalar(select(func.count()).select_from(Site)):
        raise NotEmpty("The database already has sites: bench data is only built into an "
                       "empty database (a throwaway one: create it, `flask db upgrade`, then "
                       "`flask bench-data`).")
    started = time.perf_counter()
    now = now or utcnow()
    rng = random.Random(seed)
    places = _setup(sites, password)
    echo(f"{sites} sites, {sum(len(p['spots']) for p in places)} spots, "
         f"{sites * len(PEOPLE)} users ({time.perf_counter() - started:.1f} s)")
    with _big_cache():
        made = _records(places, records, now, rng, echo, started)
    _advance_sequences(("record", "scan"))
    db.session.commit()
    _vacuum()
    echo(f"{records:,} records, {made['step_result']:,} step results, "
         f"{made['pending']:,} waiting for review, {made['sent_back']:,} sent back, "
         f"built in {time.perf_counter() - started:.1f} s")
    return {"site": sites, "spot": sites * SPOTS_PER_SITE, "user": sites * len(PEOPLE),
            "record": records, "scan": records, **made}


def add_missing_indexes() -> None:
    """A bench database kept from an older commit gets the indexes added since: create_all
    adds missing tables, not the new indexes of existing ones."""
    for table in db.metadata.sorted_tables:
        for index in table.indexes:
            index.create(db.session.connection(), checkfirst=True)
    db.session.commit()


def _setup(count: int, password: str) -> list[dict]:
    """Sites, SOPs and users (ORM, a few hundred rows), then spots (Core): what records need."""
    hashed = None
    places = []
    for number in range(1, count + 1):
        site = Site(name_zh=f"压测项目 {number:02d}", name_en=f"Bench site {number:02d}")
        db.session.add(site)
        db.session.flush()
        sops = [_sop(site, template) for template in TEMPLATES]
        people = {}
        for suffix, role in PEOPLE:
            person = User(username=f"site{number:02d}-{suffix}",
                          name=f"{suffix} · 压测项目 {number:02d}")
            if hashed is None:  # one password for all: hash it once, not a hundred times
                person.set_password(password)
                hashed = person.password_hash
            person.password_hash = hashed
            person.roles = [role]
            person.sites = [site]
            people.setdefault(role, []).append(person)
        db.session.add_all([*sops, *(p for group in people.values() for p in group)])
        db.session.flush()
        rows = []
        for i in range(SPOTS_PER_SITE):
            kind, _role, zh, en, *_ = TEMPLATES[i % len(TEMPLATES)]
            rows.append({"site_id": site.id, "kind": kind, "code": f"BK-{i + 1:03d}",
                         "name_zh": f"{zh} {i + 1}", "name_en": f"{en} {i + 1}",
                         "token": new_token(), "sop_id": sops[i % len(TEMPLATES)].id})
        db.session.execute(insert(Spot.__table__), rows)
        facts = {sop.id: _facts(sop, template[1]) for sop, template in zip(sops, TEMPLATES)}
        spots = db.session.execute(select(Spot.id, Spot.sop_id).where(Spot.site_id == site.id)
                                   .order_by(Spot.id)).all()
        places.append({"site": site.id,
                       "people": {role: [p.id for p in group] for role, group in people.items()},
                       "spots": [(spot_id, facts[sop_id]) for spot_id, sop_id in spots]})
    db.session.commit()
    return places


def _sop(site: Site, template: tuple) -> Sop:
    *_, name_zh, name_en, steps = template
    sop = Sop(site_id=site.id, name_zh=name_zh, name_en=name_en)
    sop.versions = [SopVersion(number=1, steps=[
        Step(position=i, kind=kind, label_zh=zh, label_en=en, unit=unit, min_value=low,
             max_value=high)
        for i, (kind, zh, en, unit, low, high) in enumerate(steps, start=1)])]
    return sop


def _facts(sop: Sop, role: str) -> dict:
    """What a record against this SOP needs, as plain values: no ORM in the hot loop."""
    version = sop.versions[0]
    return {"sop": sop.id, "version": version.id, "role": role,
            "steps": [(s.id, s.kind, s.min_value, s.max_value) for s in version.steps],
            "checked": [s.id for s in version.steps if s.kind != X]}  # what can be wrong


def _records(places: list[dict], count: int, now: datetime, rng: random.Random, echo,
             started: float) -> dict:
    """`count` records evenly over the last DAYS, in time order; the newest wait for review."""
    first_record = (db.session.scalar(select(func.max(Record.id))) or 0) + 1
    first_scan = (db.session.scalar(select(func.max(Scan.id))) or 0) + 1
    start, gap = now - timedelta(days=DAYS), DAYS * 86400 / max(count, 1)
    waiting_from = count - round(count * PENDING_SHARE)
    made = {"step_result": 0, "pending": count - waiting_from, "anomaly": 0, "flagged": 0,
            "sent_back": 0}
    redos = []  # (when, id, what) of records sent back: redone half an hour after that
    for chunk in range(0, count, BATCH):
        scans, records, results, reviews = [], [], [], []
        for n in range(chunk, min(chunk + BATCH, count)):
            record_id, scan_id = first_record + n, first_scan + n
            at = start + timedelta(seconds=gap * (n + rng.random()))
            if redos and redos[0][0] <= at:
                _, redo_of, (place, spot_id, sop, worker) = heapq.heappop(redos)
            else:
                place = rng.choice(places)
                spot_id, sop = rng.choice(place["spots"])
                worker, redo_of = rng.choice(place["people"][sop["role"]]), None
            seconds = rng.randint(30, 600)  # from opening the label to Submit
            scans.append({"id": scan_id, "spot_id": spot_id, "user_id": worker,
                          "at": at - timedelta(seconds=seconds), "user_agent": AGENT,
                          "offline": False})
            anomaly = rng.random() < ANOMALY_SHARE
            flagged = rng.random() < FLAGGED_SHARE
            far, accuracy = (rng.randint(150, 900), rng.randint(5, 30)) if flagged else (None, None)
            waiting = n >= waiting_from
            sent_back = not waiting and rng.random() < SENT_BACK_SHARE
            reviewer = None if waiting else rng.choice(place["people"]["supervisor"])
            reviewed_at = None if waiting else at + timedelta(minutes=rng.randint(20, 720))
            if sent_back:
                heapq.heappush(redos, (reviewed_at + timedelta(minutes=30), record_id,
                                       (place, spot_id, sop, worker)))
                reviews.append({"record_id": record_id, "user_id": reviewer, "at": reviewed_at,
                                "decision": "sent_back", "reason": SENT_BACK_REASON})
                made["sent_back"] += 1
            records.append({
                "id": record_id, "site_id": place["site"], "spot_id": spot_id,
                "sop_version_id": sop["version"], "user_id": worker, "roles": sop["role"],
                "scan_id": scan_id,
                "submission_key": f"{rng.getrandbits(128):032x}", "submitted_at": at,
                "received_at": at, "scan_seconds": seconds, "accuracy": accuracy,
                "distance": far, "flagged": flagged, "anomaly": anomaly,
                "flags": [{"code": "far_from_spot", "m": far, "accuracy": accuracy}]
                if flagged else [],
                "status": "submitted" if waiting else "sent_back" if sent_back else "approved",
                "reviewed_at": reviewed_at, "reviewer_id": reviewer, "redo_of_id": redo_of})
            made["anomaly"] += anomaly
            made["flagged"] += flagged
            wrong = rng.choice(sop["checked"]) if anomaly else None
            for step_id, kind, low, high in sop["steps"]:
                row = {"record_id": record_id, "step_id": step_id, "ok": None, "number": None,
                       "text": "", "anomaly": step_id == wrong}
                if kind == T:
                    row["ok"] = step_id != wrong
                elif kind == R:
                    row["number"] = round(high + (high - low) * rng.uniform(0.1, 0.5)
                                          if step_id == wrong else rng.uniform(low, high), 2)
                else:
                    row["text"] = "正常"
                results.append(row)
        db.session.execute(insert(Scan.__table__), scans)
        db.session.execute(insert(Record.__table__), records)
        if reviews:
            db.session.execute(insert(Review.__table__), reviews)
        for part in range(0, len(results), BATCH):
            db.session.execute(insert(StepResult.__table__), results[part:part + BATCH])
        made["step_result"] += len(results)
        done = chunk + len(records)
        if done % PROGRESS == 0 or done == count:
            db.session.commit()
            echo(f"  {done:,} records ({time.perf_counter() - started:.0f} s)")
    return made


@contextmanager
def _big_cache():
    """On SQLite, a 256 MB page cache while building: random submission keys and spots put
    index entries all over their indexes, and with the default 2 MB the same pages are read
    and written again and again (a million records took twice as long here)."""
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    if sqlite:
        before = db.session.execute(text("PRAGMA cache_size")).scalar()
        db.session.execute(text("PRAGMA cache_size=-262144"))
    try:
        yield
    finally:
        if sqlite:
            db.session.execute(text(f"PRAGMA cache_size={int(before)}"))


def _vacuum() -> None:
    """On PostgreSQL, what autovacuum would long have done on tables that grew over months:
    without statistics the planner takes the million-row tables for empty ones."""
    engine = db.session.get_bind()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")


def _advance_sequences(tables: tuple) -> None:
    """PostgreSQL's id sequences past the ids given here, so the app's next rows fit after."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for name in tables:
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                                f"(SELECT max(id) FROM \"{name}\"))"))
