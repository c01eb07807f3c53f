"""A guard's night route on a phone: one checkpoint skipped shows as missed on the dashboard."""
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from sqlalchemy import select

from app.extensions import db
from app.models import Schedule, Stop
from app.models.base import utcnow

from .conftest import spot_by_code
from .test_browser_loop import log_in, photo

PHONE = {"viewport": {"width": 360, "height": 780}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2, "locale": "en-US"}


def walk(page, base, spot):
    """Scan the label and do the checklist, all OK."""
    page.goto(f"{base}/t/{spot.token}")
    for step in spot.sop.current.steps:
        if step.kind == "tick":
            page.locator(f'input[name="step-{step.id}"][value="ok"]').check()
        elif step.kind == "reading":
            low = step.min_value or 0
            page.fill(f'input[name="step-{step.id}"]', f"{(low + (step.max_value or low + 10)) / 2:g}")
        else:
            page.fill(f'input[name="step-{step.id}"]', "fine")
        if step.photo_required:
            page.set_input_files(f'input[name="photo-{step.id}"]', files=[photo()])
    page.click("form.sop button.primary")
    expect(page.locator(".notice.ok")).to_be_visible()


def test_night_route_with_a_skipped_checkpoint_shows_as_missed(live_server, browser, site,
                                                               monkeypatch):
    # A round that opened within the last two minutes (site time), five minutes long, no grace.
    zone = ZoneInfo(site.timezone)
    now = utcnow()
    for demo_schedule in db.session.scalars(select(Schedule)):
        # The demo's own patrols share these checkpoints and would take the records first.
        demo_schedule.valid_until = now - timedelta(days=1)
    local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone) - timedelta(minutes=1)
    route = Schedule(site_id=site.id, kind="route", name_zh="夜巡测试", name_en="Night route test",
                     role="guard", grace=0, timing="times", length=5,
                     times=time(local.hour, local.minute).strftime("%H:%M"),
                     valid_from=now - timedelta(days=1))
    codes = ["CP-01", "CP-03", "CP-04"]
    route.stops = [Stop(position=i, spot_id=spot_by_code(c).id) for i, c in enumerate(codes, 1)]
    db.session.add(route)
    db.session.commit()
    base = live_server.url

    guard = browser.new_context(**PHONE).new_page()
    guard.goto(f"{base}/")
    log_in(guard, "guard")
    card = guard.locator(".card.round", has_text="Night route test")
    expect(card).to_contain_text("0 of 3 checkpoints done")
    walk(guard, base, spot_by_code("CP-01"))
    walk(guard, base, spot_by_code("CP-03"))  # Car park B2 (CP-04) is skipped
    guard.goto(f"{base}/")
    expect(card).to_contain_text("2 of 3 checkpoints done")

    # Six minutes later the window has closed: the supervisor sees the skipped checkpoint.
    monkeypatch.setattr("app.reports.dashboard.utcnow", lambda: now + timedelta(minutes=6))
    supervisor = browser.new_context(**PHONE).new_page()
    supervisor.goto(f"{base}/reports/sites/{site.id}?days=7")  # the round may open before midnight
    log_in(supervisor, "supervisor")
    missed = supervisor.locator(".slots .card.missed", has_text="Night route test")
    expect(missed).to_have_count(1)
    expect(missed).to_contain_text("Car park B2")
    done_link = supervisor.locator("tr", has_text="Night route test").locator("a").first
    expect(done_link).to_have_text("2")
