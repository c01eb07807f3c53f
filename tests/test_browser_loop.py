"""The whole field loop in Chromium on a phone-sized screen, from a printed label to approval."""
import re
from io import BytesIO

import zxingcpp
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Record

from .conftest import spot_by_code
from .helpers import jpeg


def log_in(page, username):
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo1234")
    page.click("form button.primary")


def photo(name="gauge.jpg"):
    return {"name": name, "mimeType": "image/jpeg", "buffer": jpeg(1200, 900)}


def test_label_to_approval_on_a_phone(live_server, browser, site):
    spot = spot_by_code("CP-04")
    steps = spot.sop.current.steps
    reading = next(s for s in steps if s.kind == "reading")
    photo_step = next(s for s in steps if s.photo_required)
    base = live_server.url
    phone = {"viewport": {"width": 360, "height": 780}, "is_mobile": True, "has_touch": True,
             "device_scale_factor": 2, "locale": "zh-CN"}

    # The admin prints the checkpoint label sheet; the QR of B2 is read back from the screen.
    admin = browser.new_context(**phone).new_page()
    admin.goto(f"{base}/setup/sites/{site.id}/labels?kind=checkpoint")
    log_in(admin, "admin")
    label = admin.locator(".label", has_text=spot.code)
    expect(label).to_be_visible()
    decoded = zxingcpp.read_barcodes(Image.open(BytesIO(label.locator("svg").screenshot())))
    assert len(decoded) == 1
    url = decoded[0].text
    assert url.endswith(f"/t/{spot.token}")

    # The guard "scans" it: the login page, then straight back to the spot.
    guard = browser.new_context(**phone).new_page()
    guard.goto(url)
    log_in(guard, "guard")
    expect(guard.locator("h1")).to_have_text(spot.name_zh)
    for step in steps:
        if step.kind == "tick":
            guard.locator(f'input[name="step-{step.id}"][value="ok"]').check()
    guard.fill(f'input[name="step-{reading.id}"]', "41")
    guard.set_input_files(f'input[name="photo-{photo_step.id}"]', files=[photo()])
    guard.click("form.sop button.primary")
    expect(guard.locator(".notice.ok")).to_be_visible()
    expect(guard.locator(".badge.anomaly")).to_be_visible()

    # The supervisor sends it back with a reason; the card leaves without a reload.
    supervisor = browser.new_context(**phone).new_page()
    supervisor.goto(f"{base}/review/")
    log_in(supervisor, "supervisor")
    supervisor.evaluate("window.stayed = true")  # survives only if no page load happens
    card = supervisor.locator("article.card", has_text=spot.name_zh)
    expect(card).to_have_class(re.compile("anomaly"))
    expect(card.locator("img")).to_have_count(1)
    card.locator("summary").click()
    card.locator("textarea[name=reason]").fill("Re-read the CO meter after ventilation")
    card.locator("button.warn").click()
    expect(card).to_have_count(0)
    assert supervisor.evaluate("window.stayed") is True

    # The guard sees why and redoes it.
    guard.goto(f"{base}/")
    expect(guard.get_by_text("Re-read the CO meter after ventilation")).to_be_visible()
    guard.locator('a[href$="/redo"]').first.click()
    expect(guard.locator(f'input[name="step-{reading.id}"]')).to_have_value("41")
    guard.fill(f'input[name="step-{reading.id}"]', "12")
    guard.set_input_files(f'input[name="photo-{photo_step.id}"]', files=[photo("again.jpg")])
    guard.click("form.sop button.primary")
    expect(guard.locator(".notice.ok")).to_be_visible()

    # The supervisor approves the redo in one tap.
    supervisor.goto(f"{base}/review/")
    card = supervisor.locator("article.card", has_text=spot.name_zh)
    expect(card).to_have_count(1)
    supervisor.evaluate("window.stayed = true")
    card.locator("form button.primary").click()
    expect(card).to_have_count(0)
    assert supervisor.evaluate("window.stayed") is True

    db.session.rollback()
    first, redo = db.session.scalars(select(Record).order_by(Record.id)).all()
    assert (first.status, first.anomaly) == ("sent_back", True)
    assert (redo.status, redo.anomaly, redo.redo_of_id) == ("approved", False, first.id)
    assert first.scan_id is not None and len(redo.photos) == 1


FULL_WIDTH = str.maketrans("0123456789.-", "０１２３４５６７８９．－")


def test_a_reading_outside_its_range_is_pointed_out_while_typed(live_server, browser):
    spot = spot_by_code("CP-04")
    reading = next(s for s in spot.sop.current.steps if s.kind == "reading")
    page = browser.new_context(viewport={"width": 360, "height": 780}, is_mobile=True,
                               has_touch=True, locale="en").new_page()
    page.goto(f"{live_server.url}/t/{spot.token}?lang=en")
    log_in(page, "guard")
    field = page.locator(f'input[name="step-{reading.id}"]')
    note = page.locator(f"#step-{reading.id} .out-of-range")
    expect(note).to_be_hidden()
    high = reading.max_value
    for typed, outside in ((f"{high * 10:g}", True), (f"{high:g}", False),
                           (f"{high + 0.5:g}".replace(".", ","), True), ("", False),
                           # a Chinese keyboard in full-width mode
                           (f"{high * 10:g}".translate(FULL_WIDTH), True),
                           (f"{(reading.min_value or 0) - 1:g}", reading.min_value is not None)):
        field.fill(typed)
        if outside:
            expect(note).to_be_visible()
            expect(note).to_contain_text("Outside the allowed range")
        else:
            expect(note).to_be_hidden()
