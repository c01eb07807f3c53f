"""Every route of the app with ids to fill its URL, the demo account that may use it, and a
plausible form for it: shared by the CSRF and fuzz tests, so a new route is covered by both."""
import base64
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from io import BytesIO

from sqlalchemy import func, select

from app import demo
from app.due import local_date
from app.extensions import db
from app.field.submission import result_for, stored_photo
from app.models import Defect, Record, Review, Scan, Schedule, Site, Spot, Stop, User
from app.models.base import utcnow
from app.models.defects import deadlines

from .helpers import answers, jpeg

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ROLE_USERS = [name for name, _, _ in demo.ACCOUNTS]
ELSEWHERE = "Elsewhere 别处"
SMALL_JPEG = jpeg(64, 48)


def endpoints(app) -> list[tuple]:
    """(rule, method) for every route and method of the app, in a stable order."""
    found = [(rule, method) for rule in app.url_map.iter_rules()
             for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(found, key=lambda pair: (pair[0].endpoint, pair[0].rule, pair[1]))


def acting_user(endpoint: str) -> str | None:
    """The demo account that may use the endpoint on the demo site's ids (None: logged out)."""
    if endpoint == "auth.login":
        return None
    area = endpoint.split(".")[0]
    if area == "setup":
        return "admin"
    if area in ("review", "reports") or endpoint in (
            "defects.board", "defects.assign", "defects.verify", "defects.reopen"):
        return "supervisor"
    if endpoint == "defects.fix":
        return "tech"  # the assignee
    return "guard"


@dataclass
class Ids:
    """Ids by URL argument: the demo site's (the first is the one to use) and those of a site
    that no demo account belongs to."""

    own: dict[str, list] = field(default_factory=dict)
    other: dict[str, list] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)
    # The defect in the state each transition starts from.
    defects: dict[str, int] = field(default_factory=dict)
    sent_back: int = 0  # the guard's record to redo

    def url_values(self, endpoint: str) -> dict:
        values = {name: ids[0] for name, ids in self.own.items()}
        start = {"defects.assign": "open", "defects.fix": "assigned",
                 "defects.verify": "fixed", "defects.reopen": "fixed"}.get(endpoint)
        if start:
            values["defect_id"] = self.defects[start]
        if endpoint == "field.redo":
            values["record_id"] = self.sent_back
        return values


def url(rule, values: dict) -> str:
    unknown = [arg for arg in sorted(rule.arguments) if arg not in values]
    if unknown:
        raise AssertionError(f"{rule.rule}: tests/routes.py has no ids for "
                             f"<{'>, <'.join(unknown)}>; add them to make_ids()")
    return rule.build({arg: values[arg] for arg in rule.arguments}, append_unknown=False)[1]


def make_record(spot: Spot, user: User, status="submitted", reviewer=None, photo=False) -> Record:
    now = utcnow()
    version = spot.sop.current
    record = Record(site_id=spot.site_id, spot=spot, sop_version_id=version.id, user_id=user.id,
                    roles=user.roles_text,
                    scan=Scan(spot_id=spot.id, user_id=user.id, at=now - timedelta(minutes=3)),
                    submission_key=uuid.uuid4().hex, submitted_at=now, received_at=now,
                    status=status)
    for step in version.steps:
        low = step.min_value if step.min_value is not None else 1
        record.results.append(result_for(step, {"tick": "ok", "reading": f"{low:g}",
                                                "text": "fine"}[step.kind]))
    if photo:
        record.photos.append(stored_photo(SMALL_JPEG, spot.site_id, user, version.steps[0],
                                          record.submission_key))
    if reviewer is not None:
        record.reviewer_id, record.reviewed_at = reviewer.id, now
        record.reviews.append(Review(user_id=reviewer.id, at=now, decision=status,
                                     reason="Photo blurred" if status == "sent_back" else ""))
    db.session.add(record)
    return record


def make_defect(spot: Spot, reporter: User, status="open", assignee=None, fixer=None) -> Defect:
    now = utcnow()
    defect = Defect(site_id=spot.site_id, spot_id=spot.id, kind="water_leak", severity="medium",
                    status=status, note="Water on the floor", reported_by_id=reporter.id,
                    created_at=now - timedelta(hours=1),
                    **deadlines(spot.site, "medium", now - timedelta(hours=1)))
    if assignee is not None:
        defect.assignee_id, defect.responded_at = assignee.id, now
    if fixer is not None:
        defect.fixed_by_id, defect.fixed_at, defect.fix_note = fixer.id, now, "Valve tightened"
    db.session.add(defect)
    return defect


def site_ids(site: Site, records: list[Record], defects: list[Defect], users: list[User]) -> dict:
    spots = db.session.scalars(select(Spot).where(Spot.site_id == site.id)
                               .order_by(Spot.code)).all()
    first = next(spot for spot in spots if spot.code == "CP-01")
    sop = first.sop
    schedules = db.session.scalars(select(Schedule).where(Schedule.site_id == site.id)
                                   .order_by(Schedule.id)).all()
    return {
        "site_id": [site.id], "spot_id": [first.id] + [s.id for s in spots if s is not first][:3],
        "sop_id": [sop.id], "step_id": [step.id for step in sop.current.steps],
        "version_id": [sop.current.id], "record_id": [r.id for r in records],
        "scan_id": [r.scan_id for r in records],
        "photo_id": [p.id for r in records for p in r.photos],
        "defect_id": [d.id for d in defects], "user_id": [u.id for u in users],
        "schedule_id": [s.id for s in schedules[:2]], "token": [first.token],
        "size": ["thumb"], "filename": ["css/app.css"],
    }


def make_ids() -> Ids:
    """Records, photos and defects in every state at the demo site, and a site elsewhere with
    one of each that no demo account may see."""
    person = {name: User.by_username(name) for name in ROLE_USERS}
    site = db.session.scalar(select(Site).where(Site.name_en == "Green Lake Gardens"))
    spots = {s.code: s for s in db.session.scalars(select(Spot).where(Spot.site_id == site.id))}
    records = [make_record(spots["CP-01"], person["guard"], photo=True),
               make_record(spots["CP-02"], person["guard"], "sent_back", person["supervisor"]),
               make_record(spots["EQ-FP-01"], person["tech"], "approved", person["supervisor"])]
    defects = {"assigned": make_defect(spots["EQ-FP-01"], person["tech"], "assigned",
                                       person["tech"]),
               "open": make_defect(spots["CP-03"], person["guard"]),
               "fixed": make_defect(spots["EQ-WP-01"], person["tech"], "fixed", person["tech"],
                                    person["tech"])}

    elsewhere = Site(name_zh=ELSEWHERE, name_en=ELSEWHERE)
    db.session.add(elsewhere)
    db.session.flush()
    sop = demo.make_sop(elsewhere, "patrol")
    db.session.flush()
    spot = Spot(site_id=elsewhere.id, code="CP-01", name_zh=ELSEWHERE, name_en=ELSEWHERE,
                kind="checkpoint", sop_id=sop.id)
    outsider = User(username="outsider", name=ELSEWHERE)
    outsider.set_password(demo.PASSWORD)
    outsider.roles = ["guard", "supervisor", "admin"]
    outsider.sites = [elsewhere]
    schedule = Schedule(site_id=elsewhere.id, kind="route", name_zh=ELSEWHERE, role="guard",
                        timing="daily", stops=[Stop(position=1, spot=spot)])
    db.session.add_all([spot, outsider, schedule])
    db.session.flush()
    far = [make_record(spot, outsider, photo=True)]
    far_defect = make_defect(spot, outsider)
    db.session.commit()

    ids = Ids(own=site_ids(site, records, list(defects.values()),
                           [person["guard"], person["cleaner"], person["admin"]]),
              other=site_ids(elsewhere, far, [far_defect], [outsider]),
              people={name: user.id for name, user in person.items()},
              defects={state: defect.id for state, defect in defects.items()},
              sent_back=records[1].id)
    ids.other["filename"] = ["../app/__init__.py"]
    return ids


def key() -> str:
    return uuid.uuid4().hex


def photo(name="photo.jpg"):
    return (BytesIO(SMALL_JPEG), name)


SPOTS_CSV = "编号,类型,名称\nCP-90,checkpoint,新巡更点\n".encode("utf-8")


def schedule_form(name: str) -> dict:
    return {"kind": "route", "name_zh": name, "name_en": "", "role": "guard", "sop_id": "",
            "grace": "30", "timing": "interval", "span_start": "20:00", "span_end": "06:00",
            "every": "120", "stops": "CP-01 CP-02"}


def site_today(site_id: int) -> str:
    site = db.session.get(Site, site_id)
    return local_date(site.timezone, utcnow()).isoformat()


def newest_record() -> int:
    return db.session.scalar(select(func.max(Record.id)))


def submit_form(values: dict) -> dict:
    spot = db.session.get(Spot, values["spot_id"])
    form = answers(spot, key=key())
    return {name: photo() if name.startswith("photo-") else value for name, value in form.items()}


# What a person would send to each state-changing endpoint on the demo site's ids: the
# request a missing CSRF token must stop, and what the fuzzer starts from.
FORMS = {
    "auth.login": lambda ids, values: {"username": "guard", "password": demo.PASSWORD},
    "auth.logout": lambda ids, values: {},
    "auth.language": lambda ids, values: {"lang": "en", "next": "/"},
    "defects.assign": lambda ids, values: {"assignee": str(ids.people["tech"])},
    "defects.fix": lambda ids, values: {"submission_key": key(), "note": "Valve replaced",
                                        "photo": photo("after.jpg")},
    "defects.reopen": lambda ids, values: {"reason": "Still dripping"},
    "defects.verify": lambda ids, values: {},
    "defects.incident": lambda ids, values: {
        "submission_key": key(), "site": str(values["site_id"]), "spot": str(values["spot_id"]),
        "kind": "water_leak", "severity": "high", "note": "Pipe burst", "photo": photo()},
    "field.submit": lambda ids, values: submit_form(values),
    "review.approve": lambda ids, values: {},
    "review.send_back": lambda ids, values: {"reason": "The photo is blurred"},
    "review.approve_unflagged_confirmed": lambda ids, values: {
        "site": str(values["site_id"]), "day": site_today(values["site_id"]),
        "up_to": str(newest_record())},
    "setup.site_new": lambda ids, values: {"name_zh": "新小区", "name_en": "New Court",
                                           "timezone": "Asia/Shanghai"},
    "setup.site_edit": lambda ids, values: {"name_zh": "翠湖花园二期", "name_en": "Green Lake 2",
                                            "timezone": "Asia/Shanghai", "fix_high": "12"},
    "setup.import_spots": lambda ids, values: {
        "confirm": "1", "filename": "spots.csv",
        "content": base64.urlsafe_b64encode(SPOTS_CSV).decode("ascii")},
    "setup.user_new": lambda ids, values: {
        "username": "newguard", "name": "New Guard", "roles": "guard",
        "site_ids": str(values["site_id"]), "language": "", "password": "a-long-password"},
    "setup.user_edit": lambda ids, values: {
        "username": "guard", "name": "Renamed", "roles": ["guard", "cleaner"],
        "site_ids": str(values["site_id"]), "language": "en"},
    "setup.user_password": lambda ids, values: {"new_password": "another-password"},
    "setup.user_disable": lambda ids, values: {},
    "setup.user_enable": lambda ids, values: {},
    "setup.spot_new": lambda ids, values: {"kind": "checkpoint", "code": "CP-99",
                                           "name_zh": "新点", "sop_id": "", "active": "y"},
    "setup.spot_edit": lambda ids, values: {
        "kind": "checkpoint", "code": "CP-01", "name_zh": "东门岗(新)", "active": "y",
        "sop_id": str(values["sop_id"]), "latitude": "30.2741", "longitude": "120.1551",
        "radius": "50"},
    "setup.spot_reissue": lambda ids, values: {},
    "setup.sop_new": lambda ids, values: {"name_zh": "新规程", "name_en": "New SOP"},
    "setup.sop_edit": lambda ids, values: {"name_zh": "巡更检查(新)", "name_en": "Patrol"},
    "setup.step_add": lambda ids, values: {"kind": "reading", "label_zh": "温度",
                                           "unit": "°C", "min_value": "5", "max_value": "35"},
    "setup.step_edit": lambda ids, values: {"edit-kind": "tick", "edit-label_zh": "门已锁",
                                            "edit-photo_required": "y"},
    "setup.step_up": lambda ids, values: {},
    "setup.step_down": lambda ids, values: {},
    "setup.step_remove": lambda ids, values: {},
    "setup.schedule_new": lambda ids, values: schedule_form("新路线"),
    "setup.schedule_edit": lambda ids, values: schedule_form("夜间巡更(新)"),
    "setup.schedule_end": lambda ids, values: {},
}
