"""Demo data: a residential compound with its checkpoints, cleaning zones and equipment, its
SOPs, schedules and accounts. Its records are made in `demo_records.py`."""
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
