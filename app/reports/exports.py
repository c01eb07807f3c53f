"""Exports of a site's records and due windows for a date range, as CSV or XLSX."""
from datetime import date, datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

from flask import abort, request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import DateField, RadioField, SelectChoice
from wtforms.validators import InputRequired, ValidationError

from .. import due, tabular
from ..extensions import db
from ..filters import (DEFECT_KIND_NAMES, DEFECT_STATUS_NAMES, KIND_NAMES, ROLE_NAMES,
                       ROUND_STATUS_NAMES, SCHEDULE_KIND_NAMES, SEVERITY_NAMES, STATUS_NAMES,
                       number)
from ..models import Defect, Record, Site, SopVersion
from ..models.base import utcnow
from ..web import render, role_required
from . import bp

MAX_DAYS = 92
UTC = ZoneInfo("UTC")

# Header text is data for both languages' readers, not UI: one bilingual row, never translated.
RECORD_HEADER = {
    "id": "记录编号 Record ID",
    "time": "时间 Time",
    "code": "点位编号 Spot code",
    "name_zh": "点位名称 Spot name (Chinese)",
    "name_en": "英文名称 Spot name (English)",
    "kind": "类型 Kind",
    "username": "账号 Username",
    "worker": "作业人 Worker",
    "sop": "作业规程 SOP",
    "version": "版本 Version",
    "status": "审核状态 Review status",
    "anomaly": "异常 Anomaly",
    "results": "检查结果 Results",
    "photos": "照片数 Photos",
    "note": "备注 Note",
    "reviewer": "审核人 Reviewer",
    "reason": "退回原因 Reason sent back",
}
WINDOW_HEADER = {
    "schedule": "计划 Schedule",
    "kind": "计划类型 Schedule kind",
    "position": "顺序 Stop",
    "code": "点位编号 Spot code",
    "name_zh": "点位名称 Spot name (Chinese)",
    "name_en": "英文名称 Spot name (English)",
    "opens": "开始 Opens",
    "closes": "截止 Closes",
    "late_until": "宽限至 Late until",
    "status": "状态 Status",
    "record": "记录编号 Record ID",
    "role": "岗位 Role",
    "assignees": "指派人员 Assigned to",
}
DEFECT_HEADER = {
    "id": "编号 Defect ID",
    "reported": "发现时间 Reported",
    "source": "来源 Source",
    "what": "问题 What",
    "severity": "严重程度 Severity",
    "code": "点位编号 Spot code",
    "name_zh": "点位名称 Spot name (Chinese)",
    "status": "状态 Status",
    "reported_by": "发现人 Reported by",
    "note": "说明 Note",
    "findings": "发现次数 Times found",
    "respond_by": "响应期限 Respond by",
    "responded": "响应时间 Responded",
    "assignee": "整改人 Assigned to",
    "fix_by": "整改期限 Fix by",
    "fixed": "整改时间 Fixed",
    "fix_note": "整改说明 Fix note",
    "verified_by": "验证人 Verified by",
    "verified": "验证时间 Verified",
    "overdue": "逾期 Overdue",
}


class ExportForm(FlaskForm):
    class Meta:
        csrf = False  # read from the query string of a download, which changes nothing

    start = DateField(_l("From"), [InputRequired(_l("Enter a date."))], name="from")
    end = DateField(_l("To"), [InputRequired(_l("Enter a date."))], name="to")
    what = RadioField(_l("What to export"), default="records", choices=[
        SelectChoice("records", _l("Records: one row per record")),
        SelectChoice("windows", _l("Due windows: one row per round and spot, done, late or "
                                   "missed")),
        SelectChoice("defects", _l("Defects and incidents reported in these days, with their "
                                   "fixes")),
    ])

    def validate_start(self, field):
        if field.data is not None and not date(2000, 1, 1) <= field.data <= date(2999, 12, 31):
            raise ValidationError(_l("Choose a date between 2000 and 2999."))

    def validate_end(self, field):
        if self.start.data is None or field.data is None:
            return
        if not date(2000, 1, 1) <= field.data <= date(2999, 12, 31):
            raise ValidationError(_l("Choose a date between 2000 and 2999."))
        if field.data < self.start.data:
            raise ValidationError(_l("The last day must not be before the first day."))
        if (field.data - self.start.data).days + 1 > MAX_DAYS:
            raise ValidationError(_l("At most %(days)d days at once.", days=MAX_DAYS))


def local_time(value: datetime, timezone: str) -> datetime:
    """A stored UTC time as the site's wall time, to the minute, for a spreadsheet cell."""
    wall = value.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
    return wall.replace(tzinfo=None, second=0, microsecond=0)


def own_site(site_id: int) -> Site:
    site = db.session.get(Site, site_id)
    if site is None or not current_user.can_see_site(site.id):
        abort(404)
    return site


def result_text(result) -> str:
    step = result.step
    if step.kind == "tick":
        value = _("OK") if result.ok else _("Not OK")
    elif step.kind == "reading":
        value = f"{number(result.number)} {step.unit}".strip()
    else:
        value = result.text
    flag = f" ({_('anomaly')})" if result.anomaly else ""
    return f"{step.position}. {step.label}={value}{flag}"


def record_rows(site: Site, first: date, last: date) -> list[dict]:
    start, end = due.day_bounds(site.timezone, first)[0], due.day_bounds(site.timezone, last)[1]
    records = db.session.scalars(
        select(Record)
        .where(Record.site_id == site.id, Record.submitted_at >= start, Record.submitted_at < end)
        .options(selectinload(Record.spot), selectinload(Record.user),
                 selectinload(Record.reviewer),
                 selectinload(Record.version).selectinload(SopVersion.sop))
        .order_by(Record.submitted_at, Record.id))
    rows = []
    for record in records:
        results = sorted(record.results, key=lambda r: r.step.position)
        reviewer = record.reviewer
        rows.append({
            "id": record.id,
            "time": local_time(record.submitted_at, site.timezone),
            "code": record.spot.code,
            "name_zh": record.spot.name_zh,
            "name_en": record.spot.name_en,
            "kind": str(KIND_NAMES.get(record.spot.kind, record.spot.kind)),
            "username": record.user.username,
            "worker": record.user.name,
            "sop": record.version.sop.name,
            "version": record.version.number,
            "status": str(STATUS_NAMES.get(record.status, record.status)),
            "anomaly": _("Yes") if record.anomaly else _("No"),
            "results": "; ".join(result_text(r) for r in results),
            "photos": len(record.photos),
            "note": record.note,
            "reviewer": reviewer.display_name if reviewer else "",
            "reason": record.last_reason,
        })
    return rows


def window_rows(site: Site, first: date, last: date) -> list[dict]:
    found = due.period(site, first, last, utcnow())
    found.sort(key=lambda s: (s.opens, s.schedule.id, s.position))
    tz = site.timezone
    return [{
        "schedule": slot.schedule.name,
        "kind": str(SCHEDULE_KIND_NAMES.get(slot.schedule.kind, slot.schedule.kind)),
        "position": slot.position,
        "code": slot.spot.code,
        "name_zh": slot.spot.name_zh,
        "name_en": slot.spot.name_en,
        "opens": local_time(slot.opens, tz),
        "closes": local_time(slot.closes, tz),
        "late_until": local_time(slot.late_until, tz),
        "status": str(ROUND_STATUS_NAMES.get(slot.status, slot.status)),
        "record": slot.record_id,
        "role": str(ROLE_NAMES.get(slot.schedule.role, slot.schedule.role)),
        "assignees": ", ".join(u.display_name for u in slot.schedule.assignees),
    } for slot in found]


def person(user) -> str:
    return user.display_name if user else ""


def defect_rows(site: Site, first: date, last: date) -> list[dict]:
    start, end = due.day_bounds(site.timezone, first)[0], due.day_bounds(site.timezone, last)[1]
    defects = db.session.scalars(
        select(Defect).where(Defect.site_id == site.id, Defect.created_at >= start,
                             Defect.created_at < end)
        .options(selectinload(Defect.spot), selectinload(Defect.step),
                 selectinload(Defect.reported_by), selectinload(Defect.assignee),
                 selectinload(Defect.verified_by))
        .order_by(Defect.created_at, Defect.id))
    now, tz = utcnow(), site.timezone

    def when(value):
        return local_time(value, tz) if value else None

    return [{
        "id": d.id,
        "reported": when(d.created_at),
        "source": str(DEFECT_KIND_NAMES["finding"] if d.kind == "finding" else _("Incident")),
        "what": d.step.label if d.step else str(DEFECT_KIND_NAMES.get(d.kind, d.kind)),
        "severity": str(SEVERITY_NAMES.get(d.severity, d.severity)),
        "code": d.spot.code if d.spot else "",
        "name_zh": d.spot.name_zh if d.spot else "",
        "status": str(DEFECT_STATUS_NAMES.get(d.status, d.status)),
        "reported_by": person(d.reported_by),
        "note": d.note,
        "findings": len(d.findings),
        "respond_by": when(d.respond_by),
        "responded": when(d.responded_at),
        "assignee": person(d.assignee),
        "fix_by": when(d.fix_by),
        "fixed": when(d.fixed_at),
        "fix_note": d.fix_note,
        "verified_by": person(d.verified_by),
        "verified": when(d.verified_at),
        "overdue": _("Yes") if d.overdue(now) else _("No"),
    } for d in defects]


TABLES = {
    "records": (RECORD_HEADER, record_rows, "记录 Records"),
    "windows": (WINDOW_HEADER, window_rows, "应做时段 Windows"),
    "defects": (DEFECT_HEADER, defect_rows, "问题整改 Defects"),
}


def export_file(site: Site, what: str, first: date, last: date, fmt: str):
    """The file's bytes, its MIME type and an ASCII name like records-1-20270301-20270307.xlsx."""
    header, build, title = TABLES[what]
    rows = [[row[key] for key in header] for row in build(site, first, last)]
    labels = list(header.values())
    if fmt == "csv":
        data, mimetype = tabular.to_csv(labels, rows), tabular.CSV_TYPE
    else:
        data, mimetype = tabular.to_xlsx(labels, rows, title), tabular.XLSX_TYPE
    return data, mimetype, f"{what}-{site.id}-{first:%Y%m%d}-{last:%Y%m%d}.{fmt}"


@bp.get("/sites/<int:site_id>/export")
@role_required("supervisor")
def export(site_id):
    site = own_site(site_id)
    chosen = any(name in request.args for name in ("from", "to", "what"))
    today = due.local_date(site.timezone, utcnow())
    form = ExportForm(formdata=request.args if chosen else None,
                      start=today - timedelta(days=6), end=today)
    return render("reports/export.html", site=site, form=form, max_days=MAX_DAYS)


def download(site_id: int, fmt: str):
    site = own_site(site_id)
    form = ExportForm(formdata=request.args)
    if not form.validate():
        return render("reports/export.html", site=site, form=form, max_days=MAX_DAYS,
                      status=400)
    data, mimetype, name = export_file(site, form.what.data, form.start.data, form.end.data, fmt)
    response = send_file(BytesIO(data), mimetype=mimetype, as_attachment=True,
                         download_name=name, max_age=0)
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


@bp.get("/sites/<int:site_id>/export.csv")
@role_required("supervisor")
def export_csv(site_id):
    return download(site_id, "csv")


@bp.get("/sites/<int:site_id>/export.xlsx")
@role_required("supervisor")
def export_xlsx(site_id):
    return download(site_id, "xlsx")
