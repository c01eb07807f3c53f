"""Generated bad input for every form and every query of the app: never a server error, and a
refused form says why.

Each route of `app.url_map` gets its own test (the pages that read no query parameter share
one). Its examples start from what a person would
send (tests/routes.py FORMS) and break it: a field missing, empty, repeated, of the wrong type,
unicode, NUL bytes, huge, out of range, an id of another site, a random file; or anything at
all, with a random role, URL ids, htmx and outbox headers, or a body that is not a form.
FIELDS below lists what each handler reads; a route missing there fails, and a handler that
reads a field FIELDS does not know fails too, so the table cannot silently fall behind.
"""
import base64
import csv
import io
import json
import re
import struct
import zlib
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Request
from flask_babel import force_locale, gettext
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from jinja2 import BytecodeCache
from sqlalchemy import func, or_, select
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

from app import create_app, demo, tabular
from app.extensions import db
from app.models import (INCIDENT_KINDS, KINDS, ROLES, SCHEDULE_KINDS, SEVERITIES, STEP_KINDS, Site,
                        SopVersion, User)
from app.models.defects import STATUSES as DEFECT_STATUSES
from app.timing import KINDS as TIMING_KINDS

from . import routes
from .conftest import login

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
ODD = st.sampled_from([
    " ", "\x00", "a\x00b", "\t\r\n", "-1", "0", "-0", "1e309", "-1e309", "NaN", "inf", "0x1F",
    "１２", "٣", "²", "9" * 40, "2147483648", "-2147483649", "18446744073709551616", "1.5", "1,5",
    "null", "None", "[]", "{}", "true", "../../etc/passwd", "<script>alert(1)</script>",
    "' OR 1=1 --", "%00", "%ZZ", "2024-02-30", "0000-00-00", "9999-12-31", "24:00", "23:60",
    "\u202egnp.exe", "𝟘𝟙", "翠湖花园", "💧", "ǅ", "İ", "ﬀ"])
HUGE = st.builds(lambda seed, times: seed * times,
                 st.sampled_from(["x", "翠", "\x00", "9", "a b ", "💧", "=1+"]),
                 st.sampled_from([3_000, 60_000]))
NUMBER_TEXT = st.one_of(st.integers(-2**70, 2**70).map(str), st.floats().map(str))
JUNK = st.one_of(st.just(""), TEXT, ODD, NUMBER_TEXT, HUGE)


@dataclass(frozen=True)
class Upload:
    data: bytes
    name: str

    def __repr__(self):
        return f"Upload({len(self.data)} bytes {self.data[:12]!r}..., {self.name!r})"


def png(width: int, height: int) -> bytes:
    """A PNG header claiming this size, with no pixels: a decompression bomb's first bytes."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + \
            struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


JPEG = routes.SMALL_JPEG
XLSX = tabular.to_xlsx(["编号", "类型", "名称", "安装日期"],
                       [["EQ-90", "设备", "新水泵", "2019-06-18"]])


def csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding, errors="replace")


def overwrite(data: bytes, at: int, patch: bytes) -> bytes:
    at %= len(data)
    return data[:at] + patch + data[at + len(patch):]


CELL = st.one_of(st.sampled_from(["编号", "类型", "名称", "code", "kind", "name_zh", "sop",
                                  "installed_on", "CP-01", "CP-91", "checkpoint", "设备", "zone",
                                  "2019/6/18", "2019年6月31日", "巡更检查", "=cmd|' /C calc'!A0"]),
                 TEXT, ODD)
FILE_BYTES = st.one_of(
    st.just(JPEG), st.binary(max_size=2000),
    st.integers(1, len(JPEG) - 1).map(lambda n: JPEG[:n]),
    st.builds(overwrite, st.just(JPEG), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
    st.sampled_from([png(100_000, 100_000), png(0, 0), png(2**31 - 1, 1), png(9000, 9000),
                     b"GIF89a\x01\x00\x01\x00", b"BM" + b"\x00" * 60, b"", b"\x00" * 512]),
    st.builds(csv_bytes, st.lists(st.lists(CELL, max_size=6), max_size=6),
              st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "latin-1"])),
    st.just(XLSX),
    st.builds(overwrite, st.just(XLSX), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
    st.integers(1, len(XLSX) - 1).map(lambda n: XLSX[:n]),
)
FILE_NAME = st.one_of(st.sampled_from(["photo.jpg", "IMG_0001.HEIC", "a.png", "spots.csv",
                                       "台账.XLSX", "spots.xlsx", "noext", "", ".csv",
                                       "../../etc/passwd", "a\x00.jpg"]), TEXT)
UPLOAD = st.builds(Upload, FILE_BYTES, FILE_NAME)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6)


# A spec is a function of the test's ids giving a strategy of well-shaped values (they may
# still be wrong: out of range, another site's id); JUNK and other types are mixed in anyway.

def choice(*values):
    return lambda ids: st.sampled_from(values)


def an_id(arg):
    def spec(ids):
        return st.sampled_from([*ids.own[arg], *ids.other[arg], 0, 999_999]).map(str)
    spec.names = arg  # what kind of id: the other-site test below sends another site's
    return spec


def text(ids):
    return TEXT


def day(ids):
    today = date.today()
    return st.one_of(st.integers(-400, 400).map(lambda n: (today + timedelta(n)).isoformat()),
                     st.dates().map(date.isoformat))


def number(ids):
    return st.one_of(st.floats(-1e4, 1e4).map(lambda x: f"{x:g}"), NUMBER_TEXT)


def integer(ids):
    return st.one_of(st.integers(-10, 10_000).map(str), NUMBER_TEXT)


def flag(ids):
    return st.sampled_from(["y", "1", "on", "true", "0", "false", "", "no"])


def time_of_day(ids):
    return st.one_of(st.times().map(lambda t: t.strftime("%H:%M")),
                     st.sampled_from(["8:00", "08：00", "24:00", "23:60", "08:00:00", "0800"]))


def key(ids):
    return st.one_of(st.uuids().map(lambda u: u.hex),
                     st.text("0123456789abcdefABCDEF", max_size=33))


def upload(ids):
    return UPLOAD


def codes(ids):
    return st.lists(st.sampled_from(["CP-01", "CP-02", "CP-03", "CZ-01", "EQ-FP-01", "EQ-WP-01",
                                     "CP-404", "cp-01", "，", ","]), max_size=5).map(" ".join)


def cursor(ids):
    return st.builds("{}_{}_{}".format, st.sampled_from(["0", "1", "2", "x"]),
                     st.one_of(st.datetimes().map(lambda d: d.isoformat()), TEXT),
                     st.one_of(st.integers(-5, 2**64), TEXT))


def after_next(ids):
    return st.sampled_from(["/", "/review/", "//evil.example/", "https://evil.example/",
                            "javascript:alert(1)", "/\\evil.example", "/login?next=/login"])


def username(ids):
    return st.one_of(st.sampled_from([*routes.ROLE_USERS, "outsider", "GUARD", " guard "]),
                     st.from_regex(r"[a-z0-9_.-]{1,45}", fullmatch=True))


def webhook(ids):
    return st.sampled_from(["https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
                            "http://[::1", "https://user:pw@example.com/", "ftp://example.com",
                            "https://example.com:99999/", "https://例子.中国/hook", "https:///x"])


def timezone(ids):
    return st.sampled_from(["Asia/Shanghai", "UTC", "Europe/London", "Mars/Olympus", "../../etc",
                            "asia/shanghai", "Etc/GMT+14"])


def epoch_ms(ids):
    return st.one_of(st.integers(0, 5 * 10**12).map(str), st.floats().map(str))


def fingerprint(ids):
    versions = db.session.scalars(select(SopVersion).where(
        SopVersion.id.in_([*ids.own["version_id"], *ids.other["version_id"]])))
    return st.sampled_from([v.fingerprint() for v in versions] + ["0" * 16])


def base64_file(ids):
    return st.builds(lambda data: base64.urlsafe_b64encode(data).decode("ascii"), FILE_BYTES)


SITE_FORM = {"name_zh": text, "name_en": text, "timezone": timezone, "webhook_url": webhook,
             **{f"{what}_{severity}": integer for what in ("respond", "fix")
                for severity in SEVERITIES}}
USER_FORM = {"username": username, "name": text, "roles": choice(*ROLES),
             "site_ids": an_id("site_id"), "language": choice("", "zh_CN", "en")}
SPOT_FORM = {"kind": choice(*KINDS), "code": codes, "name_zh": text, "name_en": text,
             "location": text, "sop_id": an_id("sop_id"), "category": text, "model": text,
             "maker": text, "installed_on": day, "serial": text, "active": flag,
             "latitude": number, "longitude": number, "radius": integer}
STEP_FORM = {"kind": choice(*STEP_KINDS), "label_zh": text, "label_en": text, "unit": text,
             "min_value": number, "max_value": number, "photo_required": flag}
SCHEDULE_FORM = {"kind": choice(*SCHEDULE_KINDS), "name_zh": text, "name_en": text,
                 "role": choice(*ROLES), "sop_id": an_id("sop_id"), "grace": integer,
                 "timing": choice(*TIMING_KINDS), "span_start": time_of_day,
                 "span_end": time_of_day, "every": integer, "count": integer, "times": text,
                 "length": integer, "weekdays": choice(*"0123456789"), "day": integer,
                 "month": integer, "stops": codes, "assignees": an_id("user_id")}
EXPORT = {"from": day, "to": day, "what": choice("records", "windows", "defects")}
KIND_ARG = {"kind": choice(*KINDS)}
NEW_KIND_ARG = {"?kind": choice(*KINDS, *SCHEDULE_KINDS)}

# (endpoint, method) -> {field: spec}. Query parameters of a POST start with "?"; a GET reads
# only the query. "{step}" stands for any step id.
FIELDS = {
    ("auth.login", "GET"): {"next": after_next},
    ("auth.login", "POST"): {"?next": after_next, "username": username, "password": text,
                             "remember": flag},
    ("auth.logout", "POST"): {},
    ("auth.language", "POST"): {"lang": choice("en", "zh_CN", "fr"), "next": after_next},
    ("defects.assign", "POST"): {"assignee": an_id("user_id")},
    ("defects.board", "GET"): {"site": an_id("site_id"), "overdue": flag,
                               "status": choice(*DEFECT_STATUSES, "unresolved", "all", "active"),
                               "severity": choice(*SEVERITIES),
                               "kind": choice(*KINDS, "none")},
    ("defects.defect", "GET"): {},
    ("defects.fix", "POST"): {"submission_key": key, "note": text, "photo": upload,
                              "drop_photo": an_id("photo_id")},
    ("defects.history", "GET"): {},
    ("defects.incident", "GET"): {"spot": an_id("spot_id")},
    ("defects.incident", "POST"): {"submission_key": key, "site": an_id("site_id"),
                                   "spot": an_id("spot_id"), "kind": choice(*INCIDENT_KINDS),
                                   "severity": choice(*SEVERITIES), "note": text,
                                   "photo": upload, "drop_photo": an_id("photo_id")},
    ("defects.mine", "GET"): {},
    ("defects.reopen", "POST"): {"reason": text},
    ("defects.verify", "POST"): {},
    ("field.home", "GET"): {},
    ("field.photo", "GET"): {},
    ("field.record", "GET"): {"sent": flag},
    ("field.redo", "GET"): {},
    ("field.scan", "GET"): {"sop": an_id("sop_id")},
    ("field.submit", "POST"): {
        "submission_key": key, "version_id": an_id("version_id"), "fingerprint": fingerprint,
        "note": text, "scan_id": an_id("scan_id"), "offline_scan": flag,
        "captured_at": epoch_ms, "sent_at": epoch_ms, "scan_ms": number, "latitude": number,
        "longitude": number, "accuracy": number, "redo_of": an_id("record_id"),
        "drop_photo": an_id("photo_id"), "step-{step}": choice("ok", "not_ok", "0.45", "fine"),
        "photo-{step}": upload},
    ("offline.health", "GET"): {},
    ("offline.manifest", "GET"): {},
    ("offline.outbox", "GET"): {},
    ("offline.pages", "GET"): {},
    ("offline.service_worker", "GET"): {},
    ("offline.session_token", "GET"): {},
    ("reports.dashboard", "GET"): {},
    ("reports.export", "GET"): EXPORT,
    ("reports.export_csv", "GET"): EXPORT,
    ("reports.export_xlsx", "GET"): EXPORT,
    ("reports.site", "GET"): {"days": choice("1", "7", "30")},
    ("reports.windows", "GET"): {"days": choice("1", "7", "30"), "day": day,
                                 "hour": choice(*map(str, range(25))),
                                 "status": choice("open", "done", "late", "missed", "filled"),
                                 "kind": choice(*SCHEDULE_KINDS),
                                 "schedule": an_id("schedule_id"), "person": an_id("user_id")},
    ("review.approve", "POST"): {"reason": text},
    ("review.send_back", "POST"): {"reason": text},
    ("review.approve_unflagged", "GET"): {"site": an_id("site_id"), "day": day},
    ("review.approve_unflagged_confirmed", "POST"): {"site": an_id("site_id"), "day": day,
                                                     "up_to": an_id("record_id")},
    ("review.queue", "GET"): {"site": an_id("site_id"), "flagged": flag, "after": cursor},
    ("setup.import_spots", "GET"): {},
    ("setup.import_spots", "POST"): {"file": upload, "confirm": flag, "content": base64_file,
                                     "filename": choice("spots.csv", "spots.xlsx", "x.txt")},
    ("setup.index", "GET"): {},
    ("setup.label_png", "GET"): {},
    ("setup.label_sheet", "GET"): KIND_ARG,
    ("setup.schedule_edit", "GET"): {},
    ("setup.schedule_edit", "POST"): SCHEDULE_FORM,
    ("setup.schedule_end", "POST"): {},
    ("setup.schedule_new", "GET"): {"kind": choice(*SCHEDULE_KINDS)},
    ("setup.schedule_new", "POST"): {**SCHEDULE_FORM, **NEW_KIND_ARG},
    ("setup.schedules", "GET"): {},
    ("setup.site_edit", "GET"): {},
    ("setup.site_edit", "POST"): SITE_FORM,
    ("setup.site_new", "GET"): {},
    ("setup.site_new", "POST"): SITE_FORM,
    ("setup.sites", "GET"): {},
    ("setup.sop_edit", "GET"): {},
    ("setup.sop_edit", "POST"): {"name_zh": text, "name_en": text},
    ("setup.sop_editor", "GET"): {},
    ("setup.sop_new", "GET"): {},
    ("setup.sop_new", "POST"): {"name_zh": text, "name_en": text},
    ("setup.sops", "GET"): {},
    ("setup.spot_edit", "GET"): {},
    ("setup.spot_edit", "POST"): SPOT_FORM,
    ("setup.spot_new", "GET"): KIND_ARG,
    ("setup.spot_new", "POST"): {**SPOT_FORM, **NEW_KIND_ARG},
    ("setup.spot_reissue", "POST"): {},
    ("setup.spots", "GET"): KIND_ARG,
    ("setup.step_add", "POST"): STEP_FORM,
    ("setup.step_down", "POST"): {},
    ("setup.step_edit", "GET"): {},
    ("setup.step_edit", "POST"): {f"edit-{name}": spec for name, spec in STEP_FORM.items()},
    ("setup.step_remove", "POST"): {},
    ("setup.step_up", "POST"): {},
    ("setup.user_disable", "POST"): {},
    ("setup.user_edit", "GET"): {},
    ("setup.user_edit", "POST"): {**USER_FORM, "password": text},  # read, then dropped
    ("setup.user_enable", "POST"): {},
    ("setup.user_new", "GET"): {},
    ("setup.user_new", "POST"): {**USER_FORM, "password": text},
    ("setup.user_password", "POST"): {"new_password": text},
    ("setup.users", "GET"): {},
    ("static", "GET"): {},
}
# Read by the app before every request (app/web.py).
EVERYWHERE = {"?lang": choice("en", "zh_CN", "de"), "outbox_user": an_id("user_id")}
HEADERS = [{}, {"HX-Request": "true"}, {"HX-Request": "true", "HX-Boosted": "true"},
           {"X-Rounds-Outbox": "1"}, {"X-Rounds-Offline-Copy": "1"}]
BODIES = ["form"] * 8 + ["raw", "json"]
RAW_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz",
             "multipart/form-data", "application/json", "text/plain; charset=gb18030"]
# Slow pages (a dashboard over 30 days, an export over 92) get fewer examples.
EXAMPLES = {"POST": 16, "GET": 10, "GET without parameters": 3, "slow": 5}
SLOW = {"reports.site", "reports.windows", "reports.export_csv", "reports.export_xlsx"}


def template(name: str) -> re.Pattern:
    return re.compile(re.escape(name).replace(re.escape("{step}"), r"\d+") + r"\Z")


def spec_of(fields: dict, name: str):
    for field, spec in fields.items():
        if template(field.lstrip("?")).match(name.lstrip("?")):
            return spec
    return None


# The fields the app asked for while LISTENING, for the check that FIELDS knows them all.
READ: set[str] = set()
LISTENING = [False]


class Listening(ImmutableMultiDict):
    """Query and form data that note which keys the app asks for."""

    def _note(self, key):
        if LISTENING[0]:
            READ.add(key)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)

    def get(self, key, default=None, type=None):
        self._note(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        self._note(key)
        return super().getlist(key, type)


class ListeningRequest(Request):
    parameter_storage_class = Listening


# Known when the module is collected, so that each route gets its own test.
ROUTES = [(rule.endpoint, rule.rule, method) for rule, method in routes.endpoints(
    create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"}))]


class CompiledOnce(BytecodeCache):
    """Templates compiled once for the module, not once per test (each test's app has a new
    Jinja environment). Jinja compares the source's checksum, so an edit still counts."""

    code: dict = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


@pytest.fixture
def ids(app):
    app.jinja_env.bytecode_cache = CompiledOnce()
    return routes.make_ids()


class Browsers:
    """A logged-in test client per demo account. A request that ended a session (logging out,
    a new password, a disabled account, a renamed user) is undone before the next login."""

    def __init__(self, app, ids):
        self.app, self.ids, self.clients, self.stale = app, ids, {}, set()
        self.sites = {name: [s.id for s in User.by_username(name).sites]
                      for name in routes.ROLE_USERS}

    def client(self, username):
        if username is None:
            return self.app.test_client()
        if username not in self.clients or username in self.stale:
            if self.altered(username):
                self.restore(username)
            self.clients[username] = login(self.app.test_client(), username)
            self.stale.discard(username)
        return self.clients[username]

    def altered(self, username) -> bool:
        user = db.session.get(User, self.ids.people[username])
        return user.username != username or not user.active or \
            not user.check_password(demo.PASSWORD)

    def restore(self, username):
        user = db.session.get(User, self.ids.people[username])
        clash = User.by_username(username)
        if clash is not None and clash is not user:
            clash.username = f"was-{username}-{clash.id}"
        roles = dict((name, roles) for name, _, roles in demo.ACCOUNTS)[username]
        user.username, user.active, user.roles = username, True, roles
        user.sites = db.session.scalars(select(Site).where(Site.id.in_(self.sites[username]))).all()
        user.set_password(demo.PASSWORD)
        db.session.commit()

    def after(self, username, response):
        told = response.location or response.headers.get("HX-Redirect") or ""
        payload = response.get_json(silent=True) if response.is_json else None
        if username and ("/login" in told or (isinstance(payload, dict)
                                              and payload.get("error") == "login")):
            self.stale.add(username)


ALERT = re.compile(r'class="(?:notice )?error"[^>]*role="alert"|<ul class="error">')
ERROR_TITLES = ("Bad request", "Not found", "Not allowed", "Wrong action", "The form has expired",
                "Upload too large", "Something went wrong")


@pytest.fixture
def error_titles(app):
    titles = set()
    with app.test_request_context():
        for locale in app.config["LANGUAGES"]:
            with force_locale(locale):
                titles |= {gettext(title) for title in ERROR_TITLES}
    return titles


def says_why(response, error_titles) -> bool:
    """A refusal a person or the outbox script can act on."""
    if response.headers.get("HX-Redirect") or response.headers.get("HX-Refresh"):
        return True
    if response.is_json:
        return bool((response.get_json(silent=True) or {}).get("error"))
    body = response.get_data(as_text=True)
    title = re.search(r"<h1>(.*?)</h1>", body, re.S)
    return bool(ALERT.search(body)) or \
        (title is not None and title.group(1).strip() in error_titles)


def mostly(data, usual, others: list, label: str):
    """`usual` three times in four (when there is one), else one of the others."""
    if usual is not None and (not others or data.draw(st.booleans(), label=f"usual {label}")
                              or data.draw(st.booleans(), label=f"usual {label}")):
        return usual
    return data.draw(st.sampled_from(others), label=label)


def url_values(data, rule, ids):
    values = {}
    for arg in sorted(rule.arguments):
        usual = ids.url_values(rule.endpoint).get(arg)
        choices = [*ids.own.get(arg, []), *ids.other.get(arg, [])]
        if arg.endswith("_id"):
            choices += [0, 999_999, 2**31 - 1, 2**31, 2**63]
        elif arg in ("token", "filename"):
            choices += ["", "x" * 300, "\x00", "%00", "翠湖", "..%2F..%2Fwsgi.py"]
        # Mostly the usual id, so that the handler gets past its 404 to the form.
        values[arg] = mostly(data, usual, [c for c in choices if c is not None], f"<{arg}>")
    return values


def bad(data, spec, ids, name):
    """A value that may be wrong in any way: well shaped, junk, with a NUL byte (PostgreSQL
    refuses those in text), a file, or several."""
    way = data.draw(st.sampled_from(["shaped", "junk", "nul", "many", "file"]), label=f"{name} is")
    shaped = spec(ids) if spec else JUNK
    if way == "shaped":
        return [data.draw(shaped, label=name)]
    if way == "junk":
        return [data.draw(JUNK, label=name)]
    if way == "nul":
        value = data.draw(shaped, label=name)
        if isinstance(value, Upload):
            return [Upload(value.data, value.name + "\x00.jpg")]
        at = data.draw(st.integers(0, len(value)), label=f"NUL in {name} at")
        return [value[:at] + "\x00" + value[at:]]
    if way == "file":
        return [data.draw(UPLOAD, label=name)]
    return data.draw(st.lists(st.one_of(shaped, JUNK), min_size=2, max_size=3), label=name)


def draw_fields(data, endpoint, method, fields, ids, values) -> dict:
    """Field name -> list of values (several: a repeated key)."""
    plausible = {}
    if method != "GET" and (endpoint != "field.submit" or values["spot_id"] in ids.own["spot_id"]):
        made = routes.FORMS[endpoint](ids, {**ids.url_values(endpoint), **values})
        for name, value in made.items():
            plausible[name] = [Upload(v[0].read(), v[1]) if isinstance(v, tuple) else v
                               for v in (value if isinstance(value, list) else [value])]
    names = [name for name in fields if "{step}" not in name]
    names += [name for name in plausible if name not in names]
    mode = data.draw(st.sampled_from(["plausible", "one field off", "anything"]), label="mode")
    chosen = dict(plausible)
    if mode == "one field off" and names:
        name = data.draw(st.sampled_from(names), label="field")
        if data.draw(st.booleans(), label=f"drop {name}"):
            chosen.pop(name, None)
        else:
            chosen[name] = bad(data, spec_of(fields, name), ids, name)
    elif mode == "anything":
        for name in names + list(EVERYWHERE):
            spec = spec_of(fields, name) or EVERYWHERE.get(name)
            if data.draw(st.booleans(), label=f"send {name}"):
                chosen[name] = bad(data, spec, ids, name)
            else:
                chosen.pop(name, None)
        for pattern in (name for name in fields if "{step}" in name):
            step_ids = data.draw(st.lists(st.sampled_from(
                [*ids.own["step_id"], *ids.other["step_id"], 0, 999_999]), max_size=3),
                label=f"{pattern} steps")
            for step in step_ids:
                name = pattern.replace("{step}", str(step))
                chosen[name] = bad(data, fields[pattern], ids, name)
        chosen |= {name: [value] for name, value in data.draw(
            st.dictionaries(TEXT, JUNK, max_size=2), label="extra fields").items()}
    return chosen


def send(client, method, address, fields, headers, data):
    query, form = MultiDict(), MultiDict()
    for name, values in fields.items():
        target = query if method == "GET" or name.startswith("?") else form
        for value in values:
            if isinstance(value, Upload):
                value = (io.BytesIO(value.data), value.name)
            target.add(name.removeprefix("?"), value)
    options = {"method": method, "query_string": query, "headers": headers}
    if method != "GET":
        body = data.draw(st.sampled_from(BODIES), label="body")
        if body == "raw":
            options["data"] = data.draw(st.one_of(st.binary(max_size=300), TEXT.map(str.encode)),
                                        label="raw body")
            options["content_type"] = data.draw(st.sampled_from(RAW_TYPES), label="type")
        elif body == "json":
            value = data.draw(st.one_of(JSON_VALUE, st.dictionaries(
                st.sampled_from([*fields, "x"]), JSON_VALUE, max_size=4)), label="json")
            options["data"], options["content_type"] = json.dumps(value), "application/json"
        else:
            files = any(isinstance(v, tuple) for _, v in form.items(multi=True))
            multipart = files or data.draw(st.booleans(), label="multipart")
            options["data"] = form
            options["content_type"] = "multipart/form-data" if multipart else \
                "application/x-www-form-urlencoded"
    LISTENING[0] = True
    try:
        response = client.open(address, **options)
    finally:
        LISTENING[0] = False
        # End the transaction as a real request's teardown does: the test and its requests
        # share one session, and on SQLite a transaction left open blocks the next writer.
        db.session.rollback()
    # A body over 500 KB went through a temporary file that nothing else closes.
    response.request.environ["wsgi.input"].close()
    return response


def test_every_route_is_in_the_table_and_the_table_has_no_stale_entries(app):
    known = {(endpoint, method) for endpoint, _, method in ROUTES}
    missing = sorted(known - set(FIELDS))
    assert not missing, ("tests/test_fuzz.py FIELDS does not say what these handlers read "
                         f"(an empty dict if nothing): {missing}")
    assert not sorted(set(FIELDS) - known), "FIELDS lists routes that no longer exist"
    assert len(ROUTES) >= 70


def fuzz(app, ids, browsers, error_titles, endpoint, path, method):
    """Run the route's examples; then check that it read no field FIELDS does not know."""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and r.rule == path)
    fields = FIELDS[(endpoint, method)]
    acting = routes.acting_user(endpoint)
    others = [] if acting is None else [r for r in routes.ROLE_USERS if r != acting]
    examples = EXAMPLES["slow"] if endpoint in SLOW else EXAMPLES[method] if fields or \
        method != "GET" else EXAMPLES["GET without parameters"]

    @settings(max_examples=examples, deadline=None, database=None, print_blob=True,
              # A failure is shown as found: shrinking replays requests on a database the
              # earlier examples changed, which takes minutes and rarely reproduces.
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                     HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(st.data())
    def request_survives(data):
        # Mostly someone who may use the route, so that the handler gets past its 403.
        role = acting if acting is None else mostly(data, acting, others, "as")
        values = url_values(data, rule, ids)
        address = routes.url(rule, values)
        chosen = draw_fields(data, endpoint, method, fields, ids, values)
        headers = data.draw(st.sampled_from(HEADERS), label="headers")
        response = send(browsers.client(role), method, address, chosen, headers, data)
        with response:
            browsers.after(role, response)
            status = response.status_code
            assert status < 500, f"{method} {address} as {role}: {status}"
            if 400 <= status < 500 and method != "GET":
                assert says_why(response, error_titles), \
                    f"{method} {address} as {role}: {status} without a message"

    READ.clear()
    app.request_class = ListeningRequest
    request_survives()
    unknown = sorted(name for name in READ if not spec_of(fields, name) and
                     not spec_of(EVERYWHERE, name) and name != "csrf_token")
    assert not unknown, (f"{endpoint} ({method}) reads {unknown}, which FIELDS in "
                         "tests/test_fuzz.py does not fuzz: add them")


# Pages that read no query parameter share one test (and one seeded database): their URL
# ids, role and headers are all there is to vary. Every other route has a test of its own.
PLAIN_PAGES = [(endpoint, path, method) for endpoint, path, method in ROUTES
               if method == "GET" and FIELDS.get((endpoint, method)) == {}]
FORMS_AND_QUERIES = [route for route in ROUTES if route not in PLAIN_PAGES]


@pytest.mark.parametrize("endpoint, path, method", FORMS_AND_QUERIES,
                         ids=[f"{method} {path}" for _, path, method in FORMS_AND_QUERIES])
def test_bad_input_never_makes_a_server_error(app, ids, error_titles, endpoint, path, method):
    if (endpoint, method) not in FIELDS:
        pytest.fail(f"{method} {path} ({endpoint}) is not in FIELDS of tests/test_fuzz.py: say "
                    "which query parameters and form fields its handler reads")
    fuzz(app, ids, Browsers(app, ids), error_titles, endpoint, path, method)


def test_pages_without_parameters_never_make_a_server_error(app, ids, error_titles):
    browsers, failures = Browsers(app, ids), []
    for endpoint, path, method in PLAIN_PAGES:
        try:
            fuzz(app, ids, browsers, error_titles, endpoint, path, method)
        except Exception as error:  # noqa: BLE001 - every page's failure is reported below
            notes = "\n".join(getattr(error, "__notes__", []))
            failures.append(f"{method} {path}: {type(error).__name__}: {error}\n{notes}")
    assert not failures, "\n\n".join(failures)
    assert len(PLAIN_PAGES) >= 20


# Another site's ids in forms and queries --------------------------------------------

# Columns that point at something of a site, by the kind of id they hold (tests/routes.py).
POINTERS = {"site_id": "site_id", "spot_id": "spot_id", "sop_id": "sop_id",
            "step_id": "step_id", "sop_version_id": "version_id", "record_id": "record_id",
            "defect_id": "defect_id", "user_id": "user_id", "assignee_id": "user_id",
            "scan_id": "scan_id", "redo_of_id": "record_id", "photo_id": "photo_id"}
OWN_IDS = {"site": "site_id", "spot": "spot_id", "sop": "sop_id", "record": "record_id",
           "defect": "defect_id", "user": "user_id", "schedule": "schedule_id",
           "scan": "scan_id", "photo": "photo_id"}


def rows_of_elsewhere(ids) -> dict:
    """Every row of the other site, or pointing at anything of it."""
    found = {}
    for table in db.metadata.sorted_tables:
        where = [table.c[column].in_(ids.other[kind]) for column, kind in POINTERS.items()
                 if column in table.c and ids.other.get(kind)]
        if table.name in OWN_IDS:
            where.append(table.c.id.in_(ids.other[OWN_IDS[table.name]]))
        if where:
            found[table.name] = db.session.execute(select(table).where(or_(*where))
                                                   .order_by(*table.primary_key.columns)).all()
    return found


def test_another_site_s_id_in_a_form_or_query_shows_and_changes_nothing_of_it(app, ids):
    """Every field and query parameter that takes an id, given one of a site the user does
    not belong to, in an otherwise plausible request: nothing of that site in the answer, and
    none of its rows changed or pointed at."""
    browsers, checked = Browsers(app, ids), 0
    for (endpoint, method), fields in FIELDS.items():
        id_fields = {name: spec.names for name, spec in fields.items() if hasattr(spec, "names")}
        if not id_fields:
            continue
        rule = next(r for r in app.url_map.iter_rules()
                    if r.endpoint == endpoint and method in r.methods)
        values = ids.url_values(endpoint)
        address = routes.url(rule, values)
        role = routes.acting_user(endpoint)
        for name, kind in id_fields.items():
            fields = dict(routes.FORMS[endpoint](ids, values)) if method != "GET" else {}
            fields[name] = str(ids.other[kind][0])
            query = {field.removeprefix("?"): fields.pop(field) for field in list(fields)
                     if method == "GET" or field.startswith("?")}
            before = rows_of_elsewhere(ids)
            try:
                response = browsers.client(role).open(
                    address, method=method, query_string=query, data=fields or None,
                    content_type="multipart/form-data" if fields else None)
            finally:
                db.session.rollback()
            with response:
                browsers.after(role, response)
                where = f"{method} {address} with {name}=<{kind} elsewhere> as {role}"
                assert response.status_code < 500, where
                assert routes.ELSEWHERE not in response.get_data(as_text=True), where
            assert rows_of_elsewhere(ids) == before, where
            checked += 1
    assert checked >= 15


# Server errors this module found, fixed: each case once, on purpose, on every database.
NUL = "a\x00b"


@pytest.mark.parametrize("endpoint, change, status", [
    # A file is no value for a text or number field: the step is added without it.
    ("setup.step_add", {"label_en": Upload(b"x", "a.txt")}, 303),
    ("setup.spot_edit", {"radius": Upload(b"x", "a.txt")}, 303),
    ("setup.site_new", {"json": {"name_zh": 5, "timezone": ["UTC"]}}, 422),
    ("setup.import_spots", {"json": [[]]}, 422),
    ("setup.site_new", {"fix_high": "9" * 3000}, 422),  # too big for NumberRange's isnan()
    ("setup.schedule_new", {"grace": "-" + "9" * 400}, 422),
    ("setup.sop_new", {"name_zh": NUL}, 400),  # PostgreSQL refuses NUL bytes in text
    ("setup.spot_edit", {"code": "CP" + NUL}, 400),
    ("review.send_back", {"reason": NUL}, 400),
    ("defects.incident", {"note": NUL}, 400),
    ("defects.fix", {"note": NUL}, 400),
    ("field.submit", {"note": NUL}, 400),
    ("field.submit", {"submission_key": NUL}, 400),
    # The login form: a file, JSON of any shape, nothing, or a NUL byte for a name.
    ("auth.login", {"username": Upload(b"x", "a.txt")}, 422),
    ("auth.login", {"json": {"username": 5, "password": "x"}}, 422),
    ("auth.login", {"json": [[]]}, 422),
    ("auth.login", {"json": {"username": {"a": 1}, "password": "x"}}, 422),
    ("auth.login", {"username": "", "password": ""}, 422),
    ("auth.login", {"username": "gu" + NUL}, 400),
])
def test_what_once_made_a_server_error_is_refused_with_a_message(app, ids, error_titles,
                                                                   endpoint, change, status):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = ids.url_values(endpoint)
    user = routes.acting_user(endpoint)
    client = login(app.test_client(), user) if user else app.test_client()
    before = snapshot_counts()
    if "json" in change:
        response = client.post(routes.url(rule, values), json=change["json"])
    else:
        form = routes.FORMS[endpoint](ids, values) | change
        form = {name: (io.BytesIO(value.data), value.name) if isinstance(value, Upload) else value
                for name, value in form.items()}
        response = client.post(routes.url(rule, values), data=form,
                               content_type="multipart/form-data")
    assert response.status_code == status
    if status >= 400:
        assert says_why(response, error_titles)
        assert snapshot_counts() == before


@pytest.mark.parametrize("assignee, status", [("", 422), ("tech", 409)])
def test_assigning_from_a_card_that_fell_behind_says_why(as_user, ids, error_titles, assignee,
                                                         status):
    """The board's card of a defect fixed meanwhile has no assign form to show the error in."""
    supervisor = as_user("supervisor")
    form = {"assignee": str(ids.people[assignee]) if assignee else ""}
    response = supervisor.post(f"/defects/{ids.defects['fixed']}/assign", data=form,
                               headers={"HX-Request": "true"})
    assert response.status_code == status
    assert says_why(response, error_titles)


def snapshot_counts() -> dict:
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables if table.name != "login_failure"}


def test_a_nul_byte_in_an_address_is_a_bad_request(as_user, error_titles):
    response = as_user("guard").get("/t/a%00b")
    assert response.status_code == 400
    assert says_why(response, error_titles)
