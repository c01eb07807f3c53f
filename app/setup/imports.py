"""Import spots and the equipment ledger (设备台账) from CSV or XLSX: a preview, then all or none.

The preview carries the uploaded bytes, base64-encoded, in a hidden field of the confirm form;
confirming checks them again from scratch, so a forged confirmation is just another upload.
"""
import base64
import binascii
import re
from collections import Counter
from dataclasses import dataclass, field

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import tabular
from ..extensions import db
from ..models import Site, Sop, Spot, audit
from ..web import redirect_to, render, role_required
from . import bp
from .common import update, visible_site
from .forms import Form, SpotForm

MAX_BYTES = 2 * 2**20
MAX_ROWS = 5000
# Names accepted in the header row, English or Chinese, per field of a spot.
COLUMNS = {
    "code": ("code", "编号"),
    "kind": ("kind", "类型"),
    "name_zh": ("name_zh", "名称"),
    "name_en": ("name_en", "英文名称"),
    "location": ("location", "位置"),
    "sop": ("sop", "作业规程"),
    "category": ("category", "类别"),
    "model": ("model", "型号"),
    "maker": ("maker", "厂家"),
    "installed_on": ("installed_on", "安装日期"),
    "serial": ("serial", "出厂编号"),
}
REQUIRED_COLUMNS = ("code", "kind", "name_zh")
KIND_WORDS = {
    "checkpoint": "checkpoint", "巡更点": "checkpoint",
    "zone": "zone", "cleaning zone": "zone", "保洁区域": "zone",
    "equipment": "equipment", "设备": "equipment",
}
LENGTHS = {"name_zh": 100, "name_en": 100, "location": 200, "category": 30, "model": 100,
           "maker": 100, "serial": 100}
CODE = re.compile(r"^[A-Za-z0-9-]+$")
UNREADABLE = {
    "format": _l("This is not a CSV or XLSX file this page can read. In Excel or WPS, use "
                 "Save as and choose CSV (UTF-8) or Excel workbook (.xlsx)."),
    "encoding": _l("The CSV file's text encoding is unknown. Save it as CSV (UTF-8)."),
    "too_many_rows": _l("The file has more than %(rows)d rows. Split it into smaller files.",
                        rows=MAX_ROWS),
}


class ImportForm(Form):
    file = FileField(_l("CSV or Excel (XLSX) file"), [FileRequired(_l("Choose a file."))])


@dataclass
class Row:
    """One data row of the file: its values for the spot, its errors, and what it will do."""

    number: int
    code: str
    values: dict
    errors: list = field(default_factory=list)  # (column as named in the file, message)
    action: str = ""  # new, update or unchanged; empty while the row has errors
    changes: dict = field(default_factory=dict)
    spot: Spot | None = None


@dataclass
class Plan:
    filename: str
    problems: list = field(default_factory=list)  # about the whole file
    rows: list = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems and bool(self.rows) and not any(r.errors for r in self.rows)

    @property
    def counts(self) -> Counter:
        return Counter(row.action or "error" for row in self.rows)


def column_of(name: str) -> str | None:
    """The field a header cell names: "编号", "Code", "编号*" or a bilingual "编号 Code"."""
    for candidate in (name, *name.split()):
        key = candidate.strip().strip("*＊").lower()
        for column, names in COLUMNS.items():
            if key in names:
                return column
    return None


def check_row(number: int, cells: dict, columns: dict, sops: dict, seen: dict) -> Row:
    values, errors = {}, []

    def error(column, message):
        errors.append((columns[column], message))

    for column, header in columns.items():
        raw = cells.get(header, "")
        if column == "installed_on":
            try:
                values[column] = tabular.cell_date(raw)
            except ValueError:
                error(column, _("Not a date: use YYYY-MM-DD, like 2019-06-18."))
        else:
            values[column] = tabular.cell_text(raw)
    code = values.get("code", "")
    if not code:
        error("code", _("The code is missing."))
    elif len(code) > 30:
        error("code", _("The code is longer than 30 characters."))
    elif not CODE.match(code):
        error("code", _("Use only letters, digits and dashes in a code."))
    elif code in seen:
        error("code", _("This code is already in row %(row)d.", row=seen[code]))
    else:
        seen[code] = number
    kind = values.get("kind", "")
    values["kind"] = KIND_WORDS.get(kind.lower())
    if values["kind"] is None:
        error("kind", _("Unknown kind “%(kind)s”: use checkpoint, zone or equipment "
                        "(巡更点, 保洁区域, 设备).", kind=kind) if kind
              else _("The kind is missing."))
    if not values.get("name_zh"):
        error("name_zh", _("The name is missing."))
    for column, limit in LENGTHS.items():
        if len(values.get(column) or "") > limit:
            error(column, _("At most %(max)d characters.", max=limit))
    if "sop" in values:
        name = values.pop("sop")
        values["sop_id"] = sops.get(name) if name else None
        if name and values["sop_id"] is None:
            error("sop", _("No SOP of this site is named “%(name)s”.", name=name))
    if values["kind"] not in (None, "equipment"):
        for column in SpotForm.LEDGER:
            if values.get(column):
                error(column, _("Only equipment has ledger details; leave this empty."))
        values.update(category="", model="", maker="", installed_on=None, serial="")
    return Row(number=number, code=code, values=values, errors=errors)


def is_header(cells: list) -> bool:
    return len({column_of(tabular.cell_text(cell)) for cell in cells} - {None}) >= 2


def check_file(data: bytes, filename: str, site: Site) -> Plan:
    """Every row checked and matched by code to the site's spots. Writes nothing."""
    plan = Plan(filename=filename)
    try:
        table = tabular.as_dicts(tabular.read_rows(data, filename, MAX_ROWS), is_header)
    except tabular.Unreadable as error:
        plan.problems.append(UNREADABLE[error.args[0]])
        return plan
    if table is None:
        plan.problems.append(_("No header row found. The first row must name the columns, "
                               "such as 编号, 类型, 名称 or code, kind, name_zh."))
        return plan
    header, body = table
    columns = {}
    for name in header:
        column = column_of(name)
        if column is not None:
            columns.setdefault(column, name)
    missing = [" / ".join(reversed(COLUMNS[c])) for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        plan.problems.append(_("Missing columns: %(names)s.", names=", ".join(missing)))
        return plan
    if not body:
        plan.problems.append(_("The file has no rows below the header."))
        return plan
    # By either name; a Chinese name beats an English one, and an older SOP a newer one.
    older_last = db.session.scalars(
        select(Sop).where(Sop.site_id == site.id).order_by(Sop.id.desc())).all()
    sops = {sop.name_en: sop.id for sop in older_last if sop.name_en}
    sops |= {sop.name_zh: sop.id for sop in older_last}
    spots = {s.code: s for s in db.session.scalars(select(Spot).where(Spot.site_id == site.id))}
    seen = {}
    for number, cells in body:
        row = check_row(number, cells, columns, sops, seen)
        plan.rows.append(row)
        if row.errors:
            continue
        row.spot = spots.get(row.code)
        if row.spot is None:
            row.action = "new"
        else:
            row.changes = {name: [getattr(row.spot, name), value]
                           for name, value in row.values.items()
                           if getattr(row.spot, name) != value}
            row.action = "update" if row.changes else "unchanged"
    return plan


def write(plan: Plan, site: Site) -> Counter:
    """Create and update the spots of a valid plan, with one audit row, in one transaction."""
    counts = plan.counts
    if not counts["new"] and not counts["update"]:
        return counts
    for row in plan.rows:
        if row.action == "new":
            db.session.add(Spot(site_id=site.id, **row.values))
        elif row.action == "update":
            update(row.spot, row.values)
    audit("setup_import", user=current_user, site_id=site.id, target=f"site:{site.id}",
          file=plan.filename, new=counts["new"], updated=counts["update"],
          unchanged=counts["unchanged"],
          created=[r.code for r in plan.rows if r.action == "new"],
          changed={r.code: r.changes for r in plan.rows if r.action == "update"})
    db.session.commit()
    return counts


LABELS = {column: f"{zh} {en}" for column, (en, zh) in COLUMNS.items()} | {
    "sop_id": "作业规程 sop"}


def page(form, site, plan=None, content="", status=200, refused=False):
    sop_names = dict(db.session.execute(
        select(Sop.id, Sop.name_zh).where(Sop.site_id == site.id)).all())
    return render("setup/import.html", form=form, site=site, plan=plan, content=content,
                  refused=refused, labels=LABELS, required=REQUIRED_COLUMNS, status=status,
                  sop_names=sop_names, max_mb=MAX_BYTES // 2**20)


def carried() -> tuple[bytes, str] | None:
    """The file bytes the preview put in the confirm form, or None when they are damaged."""
    text = request.form.get("content", "")
    if not text or len(text) > MAX_BYTES * 4 // 3 + 4:
        return None
    try:
        data = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return data, request.form.get("filename", "")[:200]


def preview(form, site):
    upload = form.file.data
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        form.file.errors.append(_("The file is larger than %(mb)d MB.", mb=MAX_BYTES // 2**20))
        return page(form, site, status=422)
    plan = check_file(data, upload.filename or "", site)
    if not plan.valid:
        return page(form, site, plan, status=422)
    # The confirm form is urlencoded: Werkzeug holds multipart text fields, not urlencoded
    # bodies, to MAX_FORM_MEMORY_SIZE, and URL-safe base64 needs no %-escapes.
    return page(form, site, plan, content=base64.urlsafe_b64encode(data).decode("ascii"))


def confirm(form, site):
    found = carried()
    if found is None:
        form.file.errors = [_("The confirmation was damaged. Upload the file again.")]
        return page(form, site, status=422)
    plan = check_file(*found, site)
    if not plan.valid:
        return page(form, site, plan, status=422, refused=True)
    try:
        counts = write(plan, site)
    except IntegrityError:
        db.session.rollback()
        form.file.errors = [_("Someone changed the spots meanwhile. Upload the file again.")]
        return page(form, site, status=422)
    if counts["new"] or counts["update"]:
        flash(_("Imported: %(new)d new spots, %(updated)d updated, %(same)d unchanged.",
                new=counts["new"], updated=counts["update"], same=counts["unchanged"]), "ok")
    else:
        flash(_("Nothing to change: every spot in the file is already as it says."), "ok")
    return redirect_to(url_for("setup.spots", site_id=site.id))


@bp.route("/sites/<int:site_id>/import", methods=["GET", "POST"])
@role_required("admin")
def import_spots(site_id):
    site = visible_site(site_id)
    form = ImportForm()
    if request.method == "POST" and "confirm" in request.form:
        return confirm(form, site)
    if form.validate_on_submit():
        return preview(form, site)
    return page(form, site, status=422 if form.errors else 200)
