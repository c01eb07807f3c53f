"""Exports of records and due windows: what a supervisor downloads holds the database's data."""
import csv
import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app import due
from app.extensions import db
from app.filters import local
from app.models import Schedule
from app.reports.exports import RECORD_HEADER, WINDOW_HEADER

from .conftest import spot_by_code
from . import helpers
from .helpers import html

# Monday and Tuesday; Shanghai is UTC+8.
RANGE = {"from": "2026-03-02", "to": "2026-03-03", "lang": "en"}
STATUS_EN = {"done": "Done", "late": "Done late", "missed": "Missed", "open": "Due"}


@pytest.fixture(autouse=True)
def schedules_since_january(app):
    for schedule in db.session.scalars(select(Schedule)):
        schedule.valid_from = datetime(2026, 1, 1)
    db.session.commit()


def record_at(client, code, at, key, **overrides):
    return helpers.record_at(client, spot_by_code(code), at, key, **overrides)


@pytest.fixture
def records(as_user):
    pump = spot_by_code("EQ-FP-01")
    pressure = pump.sop.current.steps[0]
    tech, guard = as_user("tech"), as_user("guard")
    return {
        "pump": record_at(tech, "EQ-FP-01", datetime(2026, 3, 2, 2, 0), "a" * 32,
                          **{f"step-{pressure.id}": "0.25"}),
        "gate": record_at(guard, "CP-01", datetime(2026, 3, 2, 13, 10), "b" * 32,
                          note="=1+1 looks like a formula"),
        "later": record_at(tech, "EQ-FP-01", datetime(2026, 3, 4, 2, 0), "c" * 32),
    }


def download(client, site, fmt, **args):
    return client.get(f"/reports/sites/{site.id}/export.{fmt}", query_string={**RANGE, **args})


def xlsx_rows(response):
    """The sheet, and its rows with date cells written as the CSV writes them."""
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    return sheet, [[v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v for v in row]
                   for row in sheet.iter_rows(values_only=True)]


def csv_rows(response):
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in response.data
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))


def test_records_export_as_xlsx_matches_the_database(as_user, site, records):
    response = download(as_user("supervisor"), site, "xlsx", what="records")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert (f"attachment; filename=records-{site.id}-20260302-20260303.xlsx"
            in response.headers["Content-Disposition"])
    sheet, rows = xlsx_rows(response)
    assert sheet.freeze_panes == "A2"
    assert rows[0] == list(RECORD_HEADER.values())
    assert rows[0][1] == "时间 Time"
    got = [dict(zip(RECORD_HEADER, row)) for row in rows[1:]]
    assert [r["id"] for r in got] == [records["pump"].id, records["gate"].id]
    pump, gate = got
    assert pump["time"] == "2026-03-02 10:00" and gate["time"] == "2026-03-02 21:10"
    # Times are real date cells, so Excel and WPS sort and filter them as dates.
    time_cell = sheet.cell(row=2, column=list(RECORD_HEADER).index("time") + 1)
    assert isinstance(time_cell.value, datetime) and "yyyy" in time_cell.number_format
    assert (pump["code"], pump["name_zh"], pump["name_en"]) == \
        ("EQ-FP-01", "1号消防泵", "Fire pump No. 1")
    assert pump["username"] == "tech" and pump["worker"] == "工程 陈强"
    assert pump["sop"] == "Fire pump daily inspection" and pump["version"] == 1
    assert pump["status"] == "Waiting for review" and pump["anomaly"] == "Yes"
    assert pump["results"].startswith("1. Outlet pressure=0.25 MPa (anomaly); 2. ")
    assert pump["photos"] == 1
    assert gate["anomaly"] == "No" and gate["kind"] == "Checkpoint"
    # Text that looks like a formula stays text.
    assert gate["note"] == "=1+1 looks like a formula"
    note_cell = sheet.cell(row=3, column=list(RECORD_HEADER).index("note") + 1)
    assert note_cell.data_type == "s"


def test_records_csv_has_a_bom_crlf_and_the_same_rows(as_user, site, records):
    client = as_user("supervisor")
    _, from_xlsx = xlsx_rows(download(client, site, "xlsx", what="records"))
    response = download(client, site, "csv", what="records")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "filename=records-" in response.headers["Content-Disposition"]
    rows = csv_rows(response)
    note = list(RECORD_HEADER).index("note")
    assert rows[2][note] == "'=1+1 looks like a formula"  # no formula when Excel opens it
    rows[2][note] = rows[2][note][1:]
    assert rows == [["" if v is None else str(v) for v in row] for row in from_xlsx]


def test_windows_export_lists_every_due_window_with_its_status(as_user, site, records):
    response = download(as_user("supervisor"), site, "xlsx", what="windows")
    assert response.status_code == 200
    assert "filename=windows-" in response.headers["Content-Disposition"]
    _, rows = xlsx_rows(response)
    assert rows[0] == list(WINDOW_HEADER.values())
    got = [dict(zip(WINDOW_HEADER, row)) for row in rows[1:]]
    expected = due.period(site, datetime(2026, 3, 2).date(), datetime(2026, 3, 3).date(),
                          datetime(2026, 11, 1))
    assert len(got) == len(expected) > 50
    assert sorted((r["code"], r["opens"], r["status"]) for r in got) == sorted(
        (s.spot.code, local(s.opens, site.timezone), STATUS_EN[s.status]) for s in expected)
    assert all("2026-03-02 00:00" <= r["opens"] < "2026-03-04 00:00" for r in got)
    pump = [r for r in got if r["code"] == "EQ-FP-01" and r["schedule"] ==
            "Fire pump daily inspection"]
    assert [(r["opens"], r["closes"], r["status"], r["record"]) for r in pump] == [
        ("2026-03-02 00:00", "2026-03-03 00:00", "Done", records["pump"].id),
        ("2026-03-03 00:00", "2026-03-04 00:00", "Missed", None),
    ]
    night = next(r for r in got if r["code"] == "CP-01" and r["opens"] == "2026-03-02 20:00")
    assert night["status"] == "Done" and night["record"] == records["gate"].id
    assert night["kind"] == "Patrol route" and night["role"] == "Guard"
    assert {r["status"] for r in got} == {"Done", "Missed"}


def test_the_form_offers_the_last_seven_days(as_user, site):
    response = as_user("supervisor").get(f"/reports/sites/{site.id}/export?lang=en")
    page = html(response)
    assert response.status_code == 200
    start = re.search(r'name="from"[^>]*value="([\d-]+)"', page).group(1)
    end = re.search(r'name="to"[^>]*value="([\d-]+)"', page).group(1)
    assert (datetime.fromisoformat(end) - datetime.fromisoformat(start)).days == 6
    assert f"/reports/sites/{site.id}/export.csv" in page


@pytest.mark.parametrize("args, message", [
    ({"from": "2026-02-30"}, "Not a valid date"),
    ({"from": ""}, "Enter a date."),
    ({"from": "2026-03-04"}, "must not be before the first day"),
    ({"from": "2025-12-01"}, "At most 92 days at once."),
    ({"what": "photos"}, "Not a valid choice"),
    ({"from": "0001-01-01", "to": "0001-01-02"}, "between 2000 and 2999"),
    ({"from": "9999-12-30", "to": "9999-12-31"}, "between 2000 and 2999"),
])
def test_bad_dates_are_a_400_page_with_the_reason(as_user, site, args, message):
    response = download(as_user("supervisor"), site, "xlsx", **args)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert message in html(response)


def test_92_days_are_allowed(as_user, site):
    response = download(as_user("supervisor"), site, "csv", what="records", **{
        "from": "2026-01-01", "to": "2026-04-02"})
    assert response.status_code == 200


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_only_supervisors_of_the_site_may_export(as_user, other_site, site, fmt):
    assert download(as_user("supervisor"), other_site, fmt).status_code == 404
    assert download(as_user("guard"), site, fmt).status_code == 403
    assert as_user("guard").get(f"/reports/sites/{site.id}/export").status_code == 403
    assert as_user("supervisor").get(f"/reports/sites/{other_site.id}/export").status_code == 404
