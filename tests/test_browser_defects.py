"""A defect from a low pump pressure to a verified fix, in Chromium on phone-sized screens."""
import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Defect

from .conftest import spot_by_code
from .test_browser_loop import log_in, photo


def test_low_pressure_to_verified_fix_on_a_phone(live_server, browser, site):
    spot = spot_by_code("EQ-FP-01")
    steps = spot.sop.current.steps
    base = live_server.url
    phone = {"viewport": {"width": 360, "height": 780}, "is_mobile": True, "has_touch": True,
             "device_scale_factor": 2, "locale": "en"}

    # The technician scans the fire pump and enters a low outlet pressure.
    tech = browser.new_context(**phone).new_page()
    tech.goto(f"{base}/t/{spot.token}?lang=en")
    log_in(tech, "tech")
    for step in steps:
        if step.kind == "tick":
            tech.locator(f'input[name="step-{step.id}"][value="ok"]').check()
        elif step.kind == "reading":
            value = "0.12" if step.unit == "MPa" else "20"
            tech.fill(f'input[name="step-{step.id}"]', value)
        if step.photo_required:
            tech.set_input_files(f'input[name="photo-{step.id}"]', files=[photo()])
    tech.click("form.sop button.primary")
    expect(tech.locator(".notice.warn", has_text="Outlet pressure")).to_be_visible()

    # The supervisor finds it on the defects board and assigns it in one step (htmx).
    boss = browser.new_context(**phone).new_page()
    boss.goto(f"{base}/defects/?lang=en")
    log_in(boss, "supervisor")
    card = boss.locator("article.card.defect", has_text="Outlet pressure")
    expect(card).to_be_visible()
    boss.evaluate("window.stayed = true")
    card.locator("select[name=assignee]").select_option(label="工程 陈强")
    card.locator("button.primary").click()
    expect(boss.locator("article.card.defect", has_text="Assigned to 工程 陈强")).to_be_visible()
    assert boss.evaluate("window.stayed") is True

    # The technician sees it under "my defects" and records the fix with an after photo.
    tech.goto(f"{base}/")
    tech.locator('a[href="/defects/mine"]').first.click()
    tech.locator("article.card.defect a").first.click()
    tech.fill("textarea[name=note]", "Replaced the pressure gauge; 0.45 MPa after restart")
    tech.set_input_files('#fix input[type=file]', files=[photo("after.jpg")])
    tech.click("#fix button.primary")
    expect(tech.locator(".notice.ok")).to_be_visible()
    expect(tech.locator(".badge.defect-fixed")).to_be_visible()

    # The supervisor compares before and after side by side, and verifies.
    boss.goto(f"{base}/defects/?status=fixed&lang=en")
    boss.locator("article.card.defect a").first.click()
    pair = boss.locator(".before-after")
    expect(pair.locator('img[alt="Before"]')).to_have_count(1)
    expect(pair.locator('img[alt="After"]')).to_have_count(1)
    box_before = pair.locator('img[alt="Before"]').bounding_box()
    box_after = pair.locator('img[alt="After"]').bounding_box()
    assert abs(box_before["y"] - box_after["y"]) < 2 and box_before["x"] < box_after["x"]
    assert boss.evaluate("document.documentElement.scrollWidth") <= 360
    boss.click("text=Verify fix")
    expect(boss.locator(".badge.defect-verified")).to_be_visible()
    expect(boss).to_have_url(re.compile(r"/defects/\d+$"))

    db.session.rollback()  # a fresh read: the server thread wrote
    defect = db.session.scalars(select(Defect)).one()
    assert (defect.status, defect.fixed_by.username, defect.verified_by.username) == (
        "verified", "tech", "supervisor")
