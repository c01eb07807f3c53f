"""Demo data: a residential compound with its checkpoints, cleaning zones and equipment."""
from datetime import date, time

from .extensions import db
from .models import Sop, SopVersion, Site, Spot, Step, User, audit

PASSWORD = "demo1234"
ACCOUNTS = [
    ("admin", "管理员 王静", ["admin", "supervisor"]),
    ("supervisor", "主管 李明", ["supervisor"]),
    ("guard", "保安 张伟", ["guard"]),
    ("cleaner", "保洁 刘芳", ["cleaner"]),
    ("tech", "工程 陈强", ["technician"]),
]
ACCOUNTS_TEXT = (
    "Demo accounts (demo only), password " + PASSWORD + ": "
    + ", ".join(username for username, _, _ in ACCOUNTS)
)

# (zh, en, kind, unit, min, max, photo_required)
T, R, X = "tick", "reading", "text"
SOPS = {
    "patrol": ("巡更检查", "Patrol check", [
        ("门窗已锁好", "Doors and windows locked", T, "", None, None, False),
        ("地面无积水、无杂物", "No water or litter on the floor", T, "", None, None, False),
        ("无可疑人员或车辆", "No suspicious people or vehicles", T, "", None, None, False),
        ("拍摄现场照片", "Photo of the checkpoint", T, "", None, None, True),
    ]),
    "carpark": ("车库巡查", "Car park patrol", [
        ("照明正常", "Lighting works", T, "", None, None, False),
        ("消防通道畅通", "Fire lanes clear", T, "", None, None, False),
        ("一氧化碳浓度", "Carbon monoxide level", R, "ppm", 0, 24, False),
        ("地面无积水、无漏油", "No water or oil on the floor", T, "", None, None, False),
        ("拍摄现场照片", "Photo of the car park", T, "", None, None, True),
    ]),
    "lobby": ("大堂保洁", "Lobby cleaning", [
        ("地面已拖净、无水渍", "Floor mopped, no wet patches", T, "", None, None, True),
        ("玻璃门已擦拭", "Glass doors wiped", T, "", None, None, False),
        ("垃圾桶已清空并更换袋子", "Bins emptied and bags replaced", T, "", None, None, True),
        ("信报箱、扶手已擦拭", "Mailboxes and handrails wiped", T, "", None, None, False),
        ("无异味", "No odour", T, "", None, None, False),
    ]),
    "liftcar": ("电梯轿厢保洁", "Lift car cleaning", [
        ("轿厢地面干净", "Car floor clean", T, "", None, None, True),
        ("不锈钢面板无指印", "Steel panels free of fingerprints", T, "", None, None, False),
        ("按钮已消毒", "Buttons disinfected", T, "", None, None, False),
    ]),
    "stair": ("楼梯间保洁", "Stairwell cleaning", [
        ("台阶已清扫", "Steps swept", T, "", None, None, False),
        ("扶手已擦拭", "Handrails wiped", T, "", None, None, False),
        ("无堆放杂物", "No stored items blocking the way", T, "", None, None, True),
    ]),
    "garbage": ("垃圾房清洁", "Garbage room cleaning", [
        ("垃圾已清运", "Waste collected", T, "", None, None, True),
        ("地面已冲洗", "Floor washed", T, "", None, None, False),
        ("已消杀", "Disinfected against pests", T, "", None, None, False),
    ]),
    "firepump": ("消防泵日常巡检", "Fire pump daily inspection", [
        ("出水压力", "Outlet pressure", R, "MPa", 0.3, 0.6, True),
        ("控制柜处于自动状态", "Control cabinet in automatic mode", T, "", None, None, False),
        ("管道阀门无渗漏", "No leaks at pipes and valves", T, "", None, None, False),
        ("泵房温度", "Pump room temperature", R, "°C", 5, 35, False),
    ]),
    "firepump_monthly": ("消防泵月度保养", "Fire pump monthly maintenance", [
        ("手动启泵试运行", "Manual start test run", T, "", None, None, True),
        ("运行电流", "Running current", R, "A", 20, 45, False),
        ("轴承已加注润滑脂", "Bearings greased", T, "", None, None, False),
        ("保养说明", "Maintenance notes", X, "", None, None, False),
    ]),
    "waterpump": ("生活水泵巡检", "Domestic water pump inspection", [
        ("出水压力", "Outlet pressure", R, "MPa", 0.25, 0.45, True),
        ("运行声音正常", "Running noise normal", T, "", None, None, False),
        ("水箱水位正常", "Tank water level normal", T, "", None, None, False),
    ]),
    "switchgear": ("配电室巡检", "Switchgear room inspection", [
        ("母线电压", "Busbar voltage", R, "V", 380, 420, False),
        ("变压器温度", "Transformer temperature", R, "°C", None, 85, True),
        ("无异味、无异响", "No unusual smell or noise", T, "", None, None, False),
        ("值班记录已填写", "Duty log entry", X, "", None, None, False),
    ]),
    "lift": ("电梯日常检查", "Lift daily check", [
        ("轿厢照明及风扇正常", "Car light and fan work", T, "", None, None, False),
        ("紧急电话可接通", "Emergency phone connects", T, "", None, None, False),
        ("平层准确", "Levels accurately at floors", T, "", None, None, False),
        ("门光幕有效", "Door light curtain works", T, "", None, None, True),
    ]),
}

ROOF_DOOR, ROOF_DOOR_AT = "CP-05", (30.27410, 120.15510)  # WGS-84

# (code, zh, en, kind, location, sop, ledger)
SPOTS = [
    ("CP-01", "东门岗", "East gate", "checkpoint", "小区东门", "patrol", None),
    ("CP-02", "西门岗", "West gate", "checkpoint", "小区西门", "patrol", None),
    ("CP-03", "B1 车库", "Car park B1", "checkpoint", "地下一层坡道口", "carpark", None),
    ("CP-04", "B2 车库", "Car park B2", "checkpoint", "地下二层电梯厅旁", "carpark", None),
    ("CP-05", "3号楼屋顶门", "Block 3 roof door", "checkpoint", "3号楼顶层", "patrol", None),
    ("CZ-01", "1号楼大堂", "Block 1 lobby", "zone", "1号楼一层", "lobby", None),
    ("CZ-02", "1号楼电梯轿厢", "Block 1 lift car", "zone", "1号楼", "liftcar", None),
    ("CZ-03", "1号楼楼梯间", "Block 1 stairwell", "zone", "1号楼", "stair", None),
    ("CZ-04", "垃圾房", "Garbage room", "zone", "北门内侧", "garbage", None),
    ("EQ-FP-01", "1号消防泵", "Fire pump No. 1", "equipment", "B2 消防泵房", "firepump",
     ("消防", "XBD6/40G-L", "上海连成", date(2019, 6, 18), "LC19060231")),
    ("EQ-WP-01", "生活水泵", "Domestic water pump", "equipment", "B2 生活水泵房", "waterpump",
     ("给排水", "CDLF16-80", "南方泵业", date(2019, 5, 2), "NF1905-7788")),
    ("EQ-SG-01", "高低压配电室", "Switchgear room", "equipment", "B1 配电室", "switchgear",
     ("供配电", "GGD2-38", "正泰电气", date(2018, 11, 20), "CHNT-GGD-0412")),
    ("EQ-LF-01", "1号楼1号电梯", "Block 1 lift No. 1", "equipment", "1号楼", "lift",
     ("电梯", "GeN2-MRL", "奥的斯", date(2019, 3, 9), "OTIS-19-55102")),
]


def make_sop(site: Site, key: str) -> Sop:
    zh, en, steps = SOPS[key]
    sop = Sop(site_id=site.id, name_zh=zh, name_en=en)
    sop.versions = [SopVersion(number=1, steps=[
        Step(position=i, kind=kind, label_zh=s_zh, label_en=s_en, unit=unit, min_value=lo,
             max_value=hi, photo_required=photo)
        for i, (s_zh, s_en, kind, unit, lo, hi, photo) in enumerate(steps, start=1)
    ])]
    db.session.add(sop)
    return sop


# (zh, en, kind, role, spots, sop key or None, grace, timing fields)
SCHEDULES = [
    ("夜间巡更", "Night patrol", "route", "guard", "CP-01 CP-03 CP-04 CP-05 CP-02", None, 15,
     {"timing": "interval", "span_start": time(20), "span_end": time(6), "every": 120}),
    ("日间巡更", "Day patrol", "route", "guard", "CP-01 CP-02 CP-03", None, 30,
     {"timing": "interval", "span_start": time(8), "span_end": time(20), "every": 240}),
    ("大堂保洁", "Lobby cleaning", "cleaning", "cleaner", "CZ-01", None, 30,
     {"timing": "spread", "span_start": time(7), "span_end": time(21), "count": 3}),
    ("电梯轿厢保洁", "Lift car cleaning", "cleaning", "cleaner", "CZ-02", None, 30,
     {"timing": "times", "times": "09:00 15:00", "length": 120}),
    ("楼梯间保洁", "Stairwell cleaning", "cleaning", "cleaner", "CZ-03", None, 60,
     {"timing": "daily", "weekdays": "0 2 4"}),
    ("垃圾房清洁", "Garbage room cleaning", "cleaning", "cleaner", "CZ-04", None, 30,
     {"timing": "times", "times": "07:00 19:00", "length": 60}),
    ("消防泵日常巡检", "Fire pump daily inspection", "equipment", "technician", "EQ-FP-01",
     "firepump", 120, {"timing": "daily"}),
    ("消防泵月度保养", "Fire pump monthly maintenance", "equipment", "technician", "EQ-FP-01",
     "firepump_monthly", 1440, {"timing": "monthly", "day": 15}),
    ("生活水泵巡检", "Domestic water pump inspection", "equipment", "technician", "EQ-WP-01",
     "waterpump", 120, {"timing": "daily"}),
    ("配电室巡检", "Switchgear room inspection", "equipment", "technician", "EQ-SG-01",
     "switchgear", 120, {"timing": "daily"}),
    ("电梯日常检查", "Lift daily check", "equipment", "technician", "EQ-LF-01", "lift", 120,
     {"timing": "daily"}),
]


def add_schedules(site: Site, sops: dict) -> None:
    """Every spot of the demo compound is due somewhere in a schedule, from a week ago."""
    from datetime import timedelta

    from sqlalchemy import select

    from .models import Schedule, Stop
    from .models.base import utcnow

    since = utcnow() - timedelta(days=7)
    for zh, en, kind, role, codes, sop, grace, timing in SCHEDULES:
        schedule = Schedule(site_id=site.id, kind=kind, name_zh=zh, name_en=en, role=role,
                            sop_id=sops[sop].id if sop else None, grace=grace,
                            valid_from=since, **timing)
        for position, code in enumerate(codes.split(), start=1):
            spot_id = db.session.scalar(
                select(Spot.id).where(Spot.site_id == site.id, Spot.code == code))
            schedule.stops.append(Stop(position=position, spot_id=spot_id))
        db.session.add(schedule)


def load() -> None:
    main = Site(name_zh="翠湖花园", name_en="Green Lake Gardens")
    other = Site(name_zh="滨江公寓", name_en="Riverside Apartments")
    db.session.add_all([main, other])
    db.session.flush()
    sops = {key: make_sop(main, key) for key in SOPS}
    db.session.flush()
    for code, zh, en, kind, location, sop, ledger in SPOTS:
        spot = Spot(site_id=main.id, code=code, name_zh=zh, name_en=en, kind=kind,
                    location=location, sop_id=sops[sop].id)
        if ledger:
            spot.category, spot.model, spot.maker, spot.installed_on, spot.serial = ledger
        if code == ROOF_DOOR:  # one label placed on the map, so records there show distance
            spot.latitude, spot.longitude, spot.radius = ROOF_DOOR_AT + (40,)
        db.session.add(spot)
    gate = make_sop(other, "patrol")
    db.session.flush()
    db.session.add(Spot(site_id=other.id, code="CP-01", name_zh="南门岗", name_en="South gate",
                        kind="checkpoint", location="南门", sop_id=gate.id))
    for username, name, roles in ACCOUNTS:
        user = User(username=username, name=name)
        user.set_password(PASSWORD)
        user.roles = roles
        user.sites = [main, other] if username == "admin" else [main]
        db.session.add(user)
    db.session.flush()
    add_schedules(main, sops)
    audit("demo_loaded")
    db.session.commit()


def gauge_photo(value: float, high: float) -> bytes:
    """A drawn pressure gauge, so demo records carry a photo that looks like evidence."""
    import math
    from io import BytesIO

    from PIL import Image, ImageDraw

    im = Image.new("RGB", (1200, 900), (92, 98, 104))
    draw = ImageDraw.Draw(im)
    draw.ellipse((300, 150, 900, 750), fill=(245, 245, 240), outline=(30, 30, 30), width=18)
    for i in range(11):
        angle = math.radians(225 - 27 * i)
        x, y = 600 + 250 * math.cos(angle), 450 - 250 * math.sin(angle)
        draw.line((600 + 280 * math.cos(angle), 450 - 280 * math.sin(angle), x, y),
                  fill=(30, 30, 30), width=8)
    angle = math.radians(225 - 270 * value / high)
    draw.line((600, 450, 600 + 230 * math.cos(angle), 450 - 230 * math.sin(angle)),
              fill=(190, 20, 20), width=14)
    draw.ellipse((570, 420, 630, 480), fill=(30, 30, 30))
    buf = BytesIO()
    im.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def add_sample_records() -> None:
    """A few submitted records so the review queue has work on the first run."""
    import uuid
    from datetime import timedelta

    from sqlalchemy import select

    from . import evidence
    from .field.submission import result_for, stored_photo
    from .models import Record, Review, Scan
    from .models.base import utcnow

    def record(code, username, values, minutes_ago, photo, status="submitted", where=None):
        place = db.session.scalar(select(Spot).join(Site).where(
            Spot.code == code, Site.name_en == "Green Lake Gardens"))
        worker = User.by_username(username)
        at = utcnow() - timedelta(minutes=minutes_ago)
        rec = Record(site_id=place.site_id, spot=place, sop_version_id=place.sop.current.id,
                     user_id=worker.id, submission_key=uuid.uuid4().hex, status=status,
                     submitted_at=at, scan=Scan(spot_id=place.id, user_id=worker.id,
                                                at=at - timedelta(minutes=2), user_agent="demo"))
        for step in place.sop.current.steps:
            default = {"tick": "ok", "reading": "", "text": "正常"}[step.kind]
            rec.results.append(result_for(step, values.get(step.position, default)))
            if step.photo_required:
                rec.photos.append(stored_photo(photo, place.site_id, worker, step, rec.submission_key))
        rec.anomaly = any(r.anomaly for r in rec.results)
        # As the phone would report it: sent at once, with the location where there is one.
        reported = evidence.Reported(captured_at=at, clock_skew=0, scan_seconds=120)
        if where:
            reported.latitude, reported.longitude, reported.accuracy = where
        evidence.stamp(rec, reported, rec.scan, at)
        db.session.add(rec)
        db.session.flush()
        evidence.flag(rec, rec.scan)  # against the records made before it, as on arrival
        return rec

    pump = record("EQ-FP-01", "tech", {1: "0.25", 4: "18"}, 50, gauge_photo(0.25, 1.0))
    record("EQ-WP-01", "tech", {1: "0.32"}, 40, gauge_photo(0.32, 0.6))
    record("CP-04", "guard", {3: "8"}, 130, gauge_photo(8, 40))
    record("CZ-01", "cleaner", {}, 25, gauge_photo(0.1, 1))
    back = record("CP-01", "guard", {}, 300, gauge_photo(0.5, 1), status="sent_back")
    # Two for the review queue's flags: B2's photo sent again at the west gate, and a roof
    # door record sent from about 600 m away.
    record("CP-02", "guard", {}, 70, gauge_photo(8, 40))
    record(ROOF_DOOR, "guard", {}, 95, gauge_photo(0.7, 1),
           where=(ROOF_DOOR_AT[0] + 0.0054, ROOF_DOOR_AT[1], 12.0))
    db.session.flush()
    supervisor = User.by_username("supervisor")
    # The low fire-pump pressure becomes a defect, assigned to the technician; a water leak
    # reported by the guard this morning waits for someone to take it.
    from .models import Defect, audit
    from .models.defects import deadlines, raise_findings

    for defect in raise_findings(pump, pump.user, pump.submitted_at):
        defect.assign(supervisor, User.by_username("tech"), pump.submitted_at)
    site = db.session.get(Site, back.site_id)
    reported = utcnow() - timedelta(hours=3)
    leak = Defect(site_id=site.id, kind="water_leak", severity="medium", status="open",
                  note="B2 车库 3 号柱附近顶板渗水，地面有积水", reported_by_id=back.user_id,
                  created_at=reported, **deadlines(site, "medium", reported))
    db.session.add(leak)
    db.session.flush()
    audit("incident_reported", user=back.user, site_id=site.id, target=f"defect:{leak.id}",
          kind=leak.kind, severity=leak.severity, photos=0)
    back.reviewer_id = supervisor.id
    back.reviewed_at = utcnow()
    db.session.add(Review(record_id=back.id, user_id=supervisor.id, decision="sent_back",
                          reason="照片看不清门锁，请重拍"))
    db.session.commit()


HISTORY_DAYS = 14


def send_back_reason(version, kind: str, rng) -> str:
    """A supervisor's reason that fits what the SOP asks for."""
    reasons = ["步骤没有逐项检查，请按规程重做"]
    if any(step.photo_required for step in version.steps):
        reasons.append("照片模糊，请重拍")
    if any(step.kind == "reading" for step in version.steps):
        reasons.append("读数看不清，请拍表盘正面")
    if kind == "zone":
        reasons.append("地面仍有水渍，请重新处理")
    return rng.choice(reasons)


def add_history(now=None) -> int:
    """About two weeks of plausible rounds: mostly done, some late, some missed, reviewed.

    Seeded, so every `make run` tells the same story. Returns the number of records made.
    """
    import random
    import uuid
    from datetime import timedelta

    from sqlalchemy import select

    from . import due
    from .field.submission import result_for, stored_photo
    from .models import Photo, Record, Review, Scan
    from .models.base import utcnow

    rng = random.Random(2026)
    now = now or utcnow()
    site = db.session.scalar(select(Site).where(Site.name_en == "Green Lake Gardens"))
    schedules = due.schedules_in_force([site.id], now - timedelta(days=HISTORY_DAYS), now)
    for schedule in schedules:
        schedule.valid_from = min(schedule.valid_from, now - timedelta(days=HISTORY_DAYS + 1))
    start, _ = due.local_day(site.timezone, now - timedelta(days=HISTORY_DAYS))
    workers = {role: User.by_username(name) for role, name in
               (("guard", "guard"), ("cleaner", "cleaner"), ("technician", "tech"))}
    supervisor = User.by_username("supervisor")
    photo = None
    made = 0
    for slot in due.slots(schedules, start, now, now):
        if slot.closes + timedelta(minutes=slot.schedule.grace) > now:
            continue  # today's open rounds are left to the person trying the demo
        luck = rng.random()
        if luck < 0.08:
            continue  # missed
        span = (slot.closes - slot.opens).total_seconds()
        at = slot.opens + timedelta(seconds=rng.uniform(0.05, 0.95) * span)
        if luck < 0.15:
            at = slot.closes + timedelta(minutes=rng.uniform(1, max(slot.schedule.grace - 1, 1)))
        sop = slot.schedule.sop or slot.spot.sop
        worker = workers[slot.schedule.role]

        def done(at, **extra):
            """A record of the slot's SOP by its worker at `at`, with its scan and photos."""
            nonlocal photo
            version = sop.current
            scan = Scan(spot_id=slot.spot.id, user_id=worker.id, user_agent="demo",
                        at=at - timedelta(minutes=rng.uniform(1, 4)))
            record = Record(site_id=site.id, spot_id=slot.spot.id, sop_version_id=version.id,
                            user_id=worker.id, submission_key=uuid.uuid4().hex,
                            submitted_at=at, received_at=at, scan=scan, **extra)
            for step in version.steps:
                if step.kind == "tick":
                    raw = "not_ok" if rng.random() < 0.01 else "ok"
                elif step.kind == "reading":
                    low = step.min_value if step.min_value is not None else 0
                    high = step.max_value if step.max_value is not None else low + 10
                    raw = f"{rng.uniform(low - (high - low) * 0.1, high + (high - low) * 0.05):.2f}"
                else:
                    raw = "正常"
                record.results.append(result_for(step, raw))
                if step.photo_required:
                    if photo is None:  # one stored file serves every demo row: names are hashes
                        photo = stored_photo(gauge_photo(0.45, 1.0), slot.spot.site_id, worker,
                                             step, "")
                    record.photos.append(Photo(
                        sha256=photo.sha256, site_id=site.id, user_id=worker.id,
                        step_id=step.id, submission_key=record.submission_key,
                        width=photo.width, height=photo.height, size=photo.size))
            record.anomaly = any(r.anomaly for r in record.results)
            db.session.add(record)
            return record

        def review(record, back: bool):
            """Reviewed a few hours after it came in; left waiting if that is still to come."""
            when = record.submitted_at + timedelta(hours=rng.uniform(1, 12))
            if when > now:
                return
            record.status = "sent_back" if back else "approved"
            record.reviewer_id, record.reviewed_at = supervisor.id, when
            record.reviews.append(Review(
                user_id=supervisor.id, at=when, decision=record.status,
                reason=send_back_reason(sop.current, slot.spot.kind, rng) if back else ""))

        record = done(at)
        made += 1
        if at < now - timedelta(hours=24):
            back = rng.random() < 0.04
            review(record, back)
            if back:  # redone at the worker's next round there
                review(done(record.reviewed_at + timedelta(hours=rng.uniform(2, 10)),
                            redo_of=record), back=False)
                made += 1
    db.session.commit()
    return made
