"""Spots and their QR labels: the ledger form, re-issuing a label, the PNG and the A4 sheet."""
import json
from io import BytesIO
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db
from app.models import Audit, Spot

from .conftest import spot_by_code
from .helpers import audits, count, html


@pytest.fixture
def admin(as_user):
    """The demo admin, reading the pages in English."""
    client = as_user("admin")
    client.get("/setup/?lang=en")
    return client


PUMP = {"kind": "equipment", "code": "EQ-FP-02", "name_zh": "2号消防泵", "name_en": "Fire pump No. 2",
        "location": "B2 消防泵房", "sop_id": "", "category": "消防", "model": "XBD6/40G-L",
        "maker": "上海连成", "installed_on": "2020-04-01", "serial": "LC20040001", "active": "y"}


def test_create_an_equipment_spot_with_its_ledger(admin, site):
    sop = spot_by_code("EQ-FP-01").sop
    response = admin.post(f"/setup/sites/{site.id}/spots/new", data={**PUMP, "sop_id": str(sop.id)})
    assert response.status_code == 303
    spot = spot_by_code("EQ-FP-02")
    assert (spot.kind, spot.category, spot.maker) == ("equipment", "消防", "上海连成")
    assert spot.sop_id == sop.id
    assert str(spot.installed_on) == "2020-04-01" and spot.active and spot.token
    row, = audits("setup_spot_new")
    assert row.site_id == site.id and row.target == f"spot:{spot.id}"
    page = html(admin.get(f"/setup/sites/{site.id}/spots?kind=equipment"))
    assert "EQ-FP-02" in page and "Fire pump No. 2" in page and "CP-01" not in page


def test_a_checkpoint_keeps_no_ledger(admin, site):
    admin.post(f"/setup/sites/{site.id}/spots/new",
               data={**PUMP, "kind": "checkpoint", "code": "CP-09"})
    spot = spot_by_code("CP-09")
    assert (spot.category, spot.model, spot.installed_on) == ("", "", None)


def test_edit_a_spot(admin):
    spot = spot_by_code("CZ-04")
    response = admin.post(f"/setup/spots/{spot.id}/edit", data={
        "kind": "zone", "code": "CZ-04", "name_zh": "垃圾房", "name_en": "Refuse room",
        "location": "北门内侧", "sop_id": str(spot.sop_id)})
    assert response.status_code == 303
    db.session.refresh(spot)
    assert spot.name_en == "Refuse room" and not spot.active
    row, = audits("setup_spot_edit")
    assert json.loads(row.detail) == {"name_en": ["Garbage room", "Refuse room"],
                                      "active": [True, False]}


def test_duplicate_spot_code_is_refused_and_nothing_is_written(admin, site, other_site):
    before = count(Spot)
    response = admin.post(f"/setup/sites/{site.id}/spots/new", data={**PUMP, "code": "EQ-FP-01"})
    assert response.status_code == 422
    assert "Another spot of this site has this code" in html(response)
    assert count(Spot) == before and not audits("setup_spot_new")
    # The same code at another site is fine: codes are unique per site.
    response = admin.post(f"/setup/sites/{other_site.id}/spots/new",
                          data={**PUMP, "code": "EQ-FP-01"})
    assert response.status_code == 303
    # And renaming a spot to a sibling's code is refused too.
    spot = spot_by_code("CP-02")
    response = admin.post(f"/setup/spots/{spot.id}/edit", data={**PUMP, "kind": "checkpoint",
                                                                "code": "CP-01"})
    assert response.status_code == 422 and spot_by_code("CP-02") is not None


@pytest.mark.parametrize("change,message", [
    ({"code": "CP 09"}, "Up to 30 letters, digits or dashes"),
    ({"code": "X" * 31}, "Up to 30 letters, digits or dashes"),
    ({"name_zh": ""}, "Fill this in"),
    ({"installed_on": "2020-13-45"}, "Not a valid date"),
    ({"kind": "tower"}, "Not a valid choice"),
    ({"sop_id": "{foreign_sop}"}, "Not a valid choice"),
    ({"sop_id": "abc"}, "Invalid choice"),
])
def test_bad_spot_input_is_refused_beside_the_field(admin, site, other_site, change, message):
    foreign_sop = spot_by_code("CP-01", "Riverside Apartments").sop_id
    data = {**PUMP, **{k: v.format(foreign_sop=foreign_sop) for k, v in change.items()}}
    before = count(Spot)
    response = admin.post(f"/setup/sites/{site.id}/spots/new", data=data)
    assert response.status_code == 422
    assert message.lower() in html(response).lower()
    assert count(Spot) == before


def test_reissue_label_retires_the_old_one(admin, as_user):
    spot = spot_by_code("CP-01")
    old = spot.token
    guard = as_user("guard")
    assert guard.get(f"/t/{old}").status_code == 200
    response = admin.post(f"/setup/spots/{spot.id}/reissue")
    assert response.status_code == 303
    db.session.refresh(spot)
    assert spot.token != old
    assert guard.get(f"/t/{old}").status_code == 404
    assert guard.get(f"/t/{spot.token}").status_code == 200
    assert len(audits("setup_spot_reissue")) == 1


def test_spot_page_warns_before_reissuing(admin):
    page = html(admin.get(f"/setup/spots/{spot_by_code('CP-01').id}/edit"))
    assert "stops working" in page and "/reissue" in page


def test_label_sheet_has_one_code_per_active_spot_of_the_kind(admin, site):
    spot_by_code("CP-05").active = False
    db.session.commit()
    page = html(admin.get(f"/setup/sites/{site.id}/labels?kind=checkpoint"))
    active = db.session.scalars(select(Spot).where(
        Spot.site_id == site.id, Spot.kind == "checkpoint", Spot.active.is_(True))).all()
    assert page.count("<svg") == len(active) == 4
    for spot in active:
        assert spot.name_zh in page and spot.name_en in page and spot.code in page
    assert "3号楼屋顶门" not in page and "1号消防泵" not in page
    assert "css/labels.css" in page
    assert page.count('aria-label="QR code"') == 4
    chinese = html(admin.get(f"/setup/sites/{site.id}/labels?kind=checkpoint&lang=zh_CN"))
    assert chinese.count('aria-label="二维码"') == 4 and "QR code" not in chinese
    everything = html(admin.get(f"/setup/sites/{site.id}/labels"))
    assert everything.count("<svg") == count(Spot, Spot.site_id == site.id, Spot.active.is_(True))


def test_label_png_opens_the_spot(admin, as_user):
    spot = spot_by_code("EQ-FP-01")
    response = admin.get(f"/setup/spots/{spot.id}/label.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "label-EQ-FP-01.png" in response.headers["Content-Disposition"]
    barcode, = zxingcpp.read_barcodes(Image.open(BytesIO(response.data)))
    assert barcode.text.endswith(f"/t/{spot.token}")
    opened = as_user("guard").get(urlsplit(barcode.text).path)
    assert opened.status_code == 200 and spot.name_zh in html(opened)
