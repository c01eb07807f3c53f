"""Importing spots and the equipment ledger: a preview first, then all rows or none."""
import base64
import io
import re
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from app.extensions import db
from app.models import Audit, Spot

from .conftest import spot_by_code
from .helpers import audits, count, html

HEADER = "code,kind,name_zh,name_en,location,sop,category,model,maker,installed_on,serial"
GOOD = [
    "CP-06,checkpoint,北门岗,North gate,小区北门,巡更检查,,,,,",
    "EQ-FP-02,equipment,2号消防泵,Fire pump No. 2,B2 消防泵房,消防泵日常巡检,消防,XBD6/40G-L,"
    "上海连成,2019-06-18,LC19060232",
    "CZ-05,保洁区域,2号楼大堂,Block 2 lobby,2号楼一层,,,,,,",
]


def csv_file(*rows, header=HEADER) -> bytes:
    return "\r\n".join([header, *rows]).encode("utf-8")


def url(site):
    return f"/setup/sites/{site.id}/import?lang=en"


def upload(client, site, data, name="ledger.csv"):
    return client.post(url(site), data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def confirm(client, site, content, name="ledger.csv"):
    return client.post(url(site), data={"confirm": "1", "content": content, "filename": name})


def carried(response) -> str:
    return re.search(r'name="content" value="([^"]*)"', html(response)).group(1)


def spot_codes(site) -> set[str]:
    return set(db.session.scalars(select(Spot.code).where(Spot.site_id == site.id)))


def test_preview_shows_new_rows_and_writes_nothing(as_user, site):
    before = spot_codes(site)
    response = upload(as_user("admin"), site, csv_file(*GOOD))
    page = html(response)
    assert response.status_code == 200
    assert "3 new, 0 to update, 0 unchanged, 0 with errors." in page
    assert page.count(">New</span>") == 3 and "Row 2" in page and "Row 4" in page
    assert "Confirm import" in page
    assert spot_codes(site) == before and not audits("setup_import")


def test_confirm_writes_every_row_with_its_ledger_and_a_label(as_user, site):
    client = as_user("admin")
    content = carried(upload(client, site, csv_file(*GOOD)))
    response = confirm(client, site, content)
    assert response.status_code == 303 and response.location.endswith(f"/sites/{site.id}/spots")
    pump = spot_by_code("EQ-FP-02")
    assert (pump.kind, pump.name_en, pump.location) == ("equipment", "Fire pump No. 2", "B2 消防泵房")
    assert (pump.category, pump.model, pump.maker, pump.serial) == \
        ("消防", "XBD6/40G-L", "上海连成", "LC19060232")
    assert pump.installed_on == date(2019, 6, 18) and pump.sop.name_zh == "消防泵日常巡检"
    gate, lobby = spot_by_code("CP-06"), spot_by_code("CZ-05")
    assert gate.kind == "checkpoint" and gate.sop.name_zh == "巡更检查" and lobby.kind == "zone"
    tokens = {pump.token, gate.token, lobby.token}
    assert len(tokens) == 3 and all(len(t) >= 16 for t in tokens)
    [row] = audits("setup_import")
    assert '"new": 3' in row.detail and '"updated": 0' in row.detail and row.site_id == site.id


def test_reimporting_the_same_file_changes_nothing(as_user, site):
    client = as_user("admin")
    content = carried(upload(client, site, csv_file(*GOOD)))
    confirm(client, site, content)
    spots_before = count(Spot)
    again = upload(client, site, csv_file(*GOOD))
    page = html(again)
    assert again.status_code == 200
    assert "0 new, 0 to update, 3 unchanged, 0 with errors." in page
    assert "Nothing to change" in page and "Confirm import" not in page
    assert confirm(client, site, content).status_code == 303
    assert count(Spot) == spots_before and len(audits("setup_import")) == 1


def test_a_changed_row_updates_the_spot_matched_by_code(as_user, site):
    client = as_user("admin")
    pump = spot_by_code("EQ-FP-01")
    data = csv_file("EQ-FP-01,设备,1号消防泵,Fire pump 1,B2 消防泵房,,消防,XBD6/40G-L,上海连成,"
                    "2019/6/18,LC19060231",
                    header="编号,类型,名称,英文名称,位置,作业规程,类别,型号,厂家,安装日期,出厂编号")
    response = upload(client, site, data)
    page = html(response)
    assert "0 new, 1 to update" in page
    assert "Fire pump No. 1 → Fire pump 1" in page
    assert "1号消防泵日常巡检" not in page and "消防泵日常巡检 → —" in page
    confirm(client, site, carried(response))
    db.session.refresh(pump)
    assert pump.name_en == "Fire pump 1" and pump.sop_id is None
    assert pump.token and spot_by_code("EQ-FP-01").id == pump.id
    [row] = audits("setup_import")
    assert '"updated": 1' in row.detail and "Fire pump 1" in row.detail


def test_a_file_with_bad_rows_lists_every_error_and_writes_nothing(as_user, site):
    client = as_user("admin")
    bad = csv_file(GOOD[0], "EQ-X-1,boiler,锅炉,,,,,,,2019-13-45,", GOOD[2],
                   "CP-06,checkpoint,重复,,,,,,,,", ",zone,无编号,,,,,,,,",
                   "EQ-Y-1,equipment,泵,,,不存在的规程,,,,,", "X" * 31 + ",zone,太长,,,,,,,,",
                   "CP-07,checkpoint,北门,,,,消防,,,,")
    before = count(Spot)
    response = upload(client, site, bad)
    page = html(response)
    assert response.status_code == 422
    assert "Confirm import" not in page and 'name="content"' not in page
    cards = {int(re.search(r"Row (\d+)</strong>", card).group(1)): card
             for card in page.split('<li class="card')[1:]}
    for row, column, message in [
        (3, "kind", "Unknown kind “boiler”"),
        (3, "installed_on", "Not a date"),
        (5, "code", "This code is already in row 2."),
        (6, "code", "The code is missing."),
        (7, "sop", "No SOP of this site is named “不存在的规程”."),
        (8, "code", "longer than 30 characters"),
        (9, "category", "Only equipment has ledger details"),
    ]:
        assert re.search(rf"<li>{column}: [^<]*{re.escape(message)}", cards[row]), (row, column)
    assert "2 new, 0 to update, 0 unchanged, 6 with errors." in page
    forged = base64.urlsafe_b64encode(bad).decode()
    response = confirm(client, site, forged)
    assert response.status_code == 422
    assert "Nothing was imported" in html(response)
    assert count(Spot) == before and not audits("setup_import")


def test_an_xlsx_with_chinese_headers_a_title_row_and_date_cells_works(as_user, site):
    book = Workbook()
    sheet = book.active
    sheet.append(["设备台账"])
    sheet.append(["编号", "类型", "名称", "位置", "类别", "型号", "厂家", "安装日期", "出厂编号", "备注"])
    sheet.append(["EQ-LF-02", "设备", "1号楼2号电梯", "1号楼", "电梯", "GeN2-MRL", "奥的斯",
                  datetime(2020, 4, 1), 1955103, "ignored column"])
    sheet.append([])
    sheet.append(["CP-08", "巡更点", "地库出口", "B1"])
    buffer = io.BytesIO()
    book.save(buffer)
    client = as_user("admin")
    response = upload(client, site, buffer.getvalue(), "台账.xlsx")
    page = html(response)
    assert response.status_code == 200, page
    assert "2 new, 0 to update, 0 unchanged, 0 with errors." in page and "Row 5" in page
    assert confirm(client, site, carried(response), "台账.xlsx").status_code == 303
    lift = spot_by_code("EQ-LF-02")
    assert (lift.kind, lift.installed_on, lift.serial, lift.name_en) == \
        ("equipment", date(2020, 4, 1), "1955103", "")
    assert spot_by_code("CP-08").kind == "checkpoint"


def test_an_xlsx_that_makes_openpyxl_warn_is_read_all_the_same(as_user, site):
    """Some generators write no default cell style; openpyxl warns, and warnings are errors here."""
    book = Workbook()
    book.active.append(["编号", "类型", "名称"])
    book.active.append(["CP-10", "巡更点", "南门"])
    buffer = io.BytesIO()
    book.save(buffer)
    source, out = zipfile.ZipFile(buffer), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/styles.xml":
                data = re.sub(rb"<cellStyles.*?</cellStyles>", b"", data)
            target.writestr(item, data)
    response = upload(as_user("admin"), site, out.getvalue(), "wps.xlsx")
    assert response.status_code == 200 and "1 new" in html(response)


@pytest.mark.parametrize("data, name, message", [
    (csv_file("CP-09,checkpoint", header="number,type"), "a.csv", "No header row found"),
    (csv_file("CP-09,,北门", header="code,location,名称"), "a.csv", "Missing columns: 类型 / kind."),
    (csv_file(header=HEADER), "a.csv", "no rows below the header"),
    (b"\xd0\xcf\x11\xe0 old excel", "ledger.xls", "not a CSV or XLSX file"),
    (b"PK\x03\x04 not really a zip", "ledger.xlsx", "not a CSV or XLSX file"),
    ("编号,类型,名称\r\nCP-09,巡更点,北门\r\n".encode("gb18030"), "gbk.csv", "1 new"),
    (csv_file(*[f"CP-{n},checkpoint,点" for n in range(5001)]), "big.csv", "more than 5000 rows"),
])
def test_file_level_problems_are_explained(as_user, site, data, name, message):
    response = upload(as_user("admin"), site, data, name)
    assert message in html(response)
    assert response.status_code == (200 if message == "1 new" else 422)


def test_a_damaged_confirmation_or_missing_file_is_refused(as_user, site):
    client = as_user("admin")
    assert confirm(client, site, "not base64!").status_code == 422
    response = client.post(url(site), data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a file." in html(response)
    assert not audits("setup_import")


def test_the_upload_page_lists_the_columns(as_user, site):
    page = html(as_user("admin").get(url(site)))
    assert "编号 code" in page and "安装日期 installed_on" in page and 'type="file"' in page


def test_only_admins_of_the_site_may_import(as_user, site, hidden):
    assert as_user("supervisor").get(url(site)).status_code == 403
    assert upload(as_user("tech"), site, csv_file(*GOOD)).status_code == 403
    other = f"/setup/sites/{hidden['site_id']}/import"
    assert as_user("admin").get(other).status_code == 404
    response = as_user("admin").post(other, data={"file": (io.BytesIO(csv_file(*GOOD)), "a.csv")},
                                     content_type="multipart/form-data")
    assert response.status_code == 404
    assert count(Audit, Audit.action == "setup_import") == 0
