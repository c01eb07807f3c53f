"""Every page on a 360 px phone, in both languages: nothing wider than the screen, every
control big enough for a thumb, no text too small to read in sunlight, nothing the content
security policy refuses; and the screens that changed most, with more data, untranslated
words looked for too."""
from io import BytesIO

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Record

from .conftest import PHONE, spot_by_code, user
from .test_browser_loop import log_in
from .test_defects import fixed_defect
from .helpers import jpeg
from . import routes

# Controls a thumb must hit: buttons, links styled as buttons, form fields.
CONTROLS = ("button, .button, select, textarea, input[type=text], input[type=url], .links a, "
            "td a, th a")
TOO_SMALL = """(selector) => [...document.querySelectorAll(selector)]
  .filter(e => e.offsetParent !== null)
  .filter(e => { const r = e.getBoundingClientRect(); return r.height < 40 || r.width < 40; })
  .map(e => e.outerHTML.slice(0, 80))"""
# Text smaller than this (CSS px, a chart's scaling included) is hard to read in sunlight.
SMALLEST_TEXT = 12
TINY_TEXT = """(smallest) => [...document.querySelectorAll("body *")]
  .filter(e => e.getClientRects().length && e.tagName !== "title")
  .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
  .map(e => [parseFloat(getComputedStyle(e).fontSize)
             * (e instanceof SVGElement ? e.getScreenCTM().a : 1), e.outerHTML.slice(0, 80)])
  .filter(([size]) => size < smallest)"""
# A chart's labels must lie inside the chart: past its edge they are cut ("l00%").
CLIPPED_TEXT = """() => [...document.querySelectorAll("svg text")].filter(t => {
  const r = t.getBoundingClientRect(), box = t.ownerSVGElement.getBoundingClientRect();
  return r.left < box.left || r.right > box.right || r.top < box.top || r.bottom > box.bottom;
}).map(t => t.textContent)"""


@pytest.fixture
def defects(as_user, site):
    """One defect fixed and waiting for verification, one open high-severity incident."""
    tech = as_user("tech")
    finding = fixed_defect(tech, as_user("supervisor"))
    tech.post("/incidents/new", data={
        "submission_key": "7" * 32, "site": str(site.id), "kind": "lift_entrapment",
        "severity": "high", "note": "1号楼电梯困人", "photo": (BytesIO(jpeg()), "lift.jpg")},
        content_type="multipart/form-data")
    db.session.commit()
    return finding


def phone_page(browser, live_server, username, lang):
    """A logged-in page on a 360 px phone that records what the content security policy
    refuses (it allows no inline script or style)."""
    context = browser.new_context(**PHONE, locale="zh-CN" if lang == "zh_CN" else "en")
    page = context.new_page()
    page.add_init_script("window.refused = []; document.addEventListener("
                         "'securitypolicyviolation', e => window.refused.push("
                         "e.violatedDirective + ' ' + e.sample))")
    page.goto(f"{live_server.url}/login?lang={lang}")
    log_in(page, username)
    page.wait_for_load_state("load")
    return page


def assert_fits_a_phone(page, where):
    assert page.evaluate("window.refused") == [], where
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, (where, width)
    # Tables scroll sideways in their box rather than widen the page; they must not need
    # to, or a column ("Rate") is cut off with no sign there is more.
    cut = page.evaluate("[...document.querySelectorAll('.table-wrap')]"
                        ".filter(w => w.scrollWidth > w.clientWidth).length")
    assert cut == 0, where
    assert page.evaluate(TOO_SMALL, CONTROLS) == [], where
    assert page.evaluate(TINY_TEXT, SMALLEST_TEXT) == [], where
    assert page.evaluate(CLIPPED_TEXT) == [], where
    # The sticky header may take two rows (name, then menu), never more.
    assert page.locator("header.bar").bounding_box()["height"] < 130, where


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_touched_screens_fit_a_phone_in_both_languages(defects, live_server, browser, site,
                                                      lang):
    pump = spot_by_code("EQ-FP-01")
    record = db.session.scalars(select(Record)).first()
    pages = {
        "supervisor": ["/defects/", "/defects/?status=all&overdue=1", f"/defects/{defects.id}",
                       f"/reports/sites/{site.id}?days=30", f"/spots/{pump.id}/history"],
        "tech": ["/", "/defects/mine", "/incidents/new", f"/incidents/new?spot={pump.id}",
                 f"/t/{pump.token}", f"/records/{record.id}", "/outbox"],
        "admin": [f"/setup/sites/{site.id}/edit"],
    }
    for username, paths in pages.items():
        page = phone_page(browser, live_server, username, lang)
        for path in paths:
            response = page.goto(live_server.url + path)
            assert response.status == 200, path
            page.wait_for_load_state("load")
            assert_fits_a_phone(page, (lang, path))
            text = page.locator("main").inner_text()
            if lang == "zh_CN":  # no English UI words left on a Chinese page
                for word in ("Assign", "Overdue", "Defect", "Report", "Fix by", "History"):
                    assert word not in text, (path, word)
        page.context.close()


# GET routes that answer with something else than a page: downloads, the photo files, and
# the export files, which need dates (their form is a page and is walked).
NOT_PAGES = {"field.photo", "setup.label_png", "reports.export_csv", "reports.export_xlsx",
             "offline.health", "offline.manifest", "offline.pages", "offline.service_worker",
             "offline.session_token", "static"}


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_page_fits_a_phone(app, live_server, browser, lang):
    """Every route that answers a GET with a page, opened by the account that uses it on the
    demo site's ids (tests/routes.py, so a new page is walked too)."""
    ids = routes.make_ids()
    db.session.commit()
    pages = {}
    for rule, method in routes.endpoints(app):
        username = routes.acting_user(rule.endpoint)
        if method == "GET" and username and rule.endpoint not in NOT_PAGES:
            pages.setdefault(username, []).append(
                (rule.endpoint, routes.url(rule, ids.url_values(rule.endpoint))))
    for username, paths in pages.items():
        page = phone_page(browser, live_server, username, lang)
        for endpoint, path in paths:
            response = page.goto(live_server.url + path)
            assert response.status == 200, (username, path)
            assert response.headers["content-type"].startswith("text/html"), path
            # Its own page, not one it sends the phone on to (the login, a list).
            redirected = response.request.redirected_from is not None
            assert redirected == (endpoint == "reports.dashboard"), path  # to the site's
            page.wait_for_load_state("load")
            assert_fits_a_phone(page, (lang, username, path))
        page.context.close()


def test_removing_a_step_or_disabling_an_account_asks_first(live_server, browser):
    context = browser.new_context(**PHONE, locale="en")
    page = context.new_page()
    page.goto(f"{live_server.url}/login?lang=en")
    log_in(page, "admin")
    asked, posted = [], []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)

    def answer(yes):
        page.once("dialog", lambda dialog: (asked.append(dialog.message),
                                            dialog.accept() if yes else dialog.dismiss()))

    page.goto(f"{live_server.url}/setup/sops/{spot_by_code('CP-01').sop_id}")
    steps = page.locator("#steps li.card")
    before = steps.count()
    answer(yes=False)
    steps.first.get_by_role("button", name="Remove").click()
    page.wait_for_timeout(500)
    assert posted == []
    expect(steps).to_have_count(before)
    answer(yes=True)
    steps.first.get_by_role("button", name="Remove").click()
    expect(steps).to_have_count(before - 1)

    guard = user("guard")
    page.goto(f"{live_server.url}/setup/users/{guard.id}/edit")
    answer(yes=False)
    posted.clear()
    page.get_by_role("button", name="Disable account").click()
    page.wait_for_timeout(500)
    assert posted == []
    db.session.rollback()
    assert user("guard").active
    answer(yes=True)
    page.get_by_role("button", name="Disable account").click()
    expect(page.get_by_text("This account is disabled")).to_be_visible()
    db.session.rollback()
    assert not user("guard").active
    assert asked == ["Remove this step from the checklist?"] * 2 + \
        ["Disable this account? It is logged out at once."] * 2
    context.close()


# Each card with a main link (a.open): a tap on its far corner opens it, and each of the
# card's own links, buttons and fields is still what a tap on its middle reaches.
CARD_TAPS = """() => [...document.querySelectorAll('.card a.open')].flatMap(link => {
  const card = link.closest('.card'), problems = [];
  card.scrollIntoView({block: 'center'});
  const r = card.getBoundingClientRect();
  if (document.elementFromPoint(r.right - 4, r.bottom - 4) !== link)
    problems.push('corner of ' + card.outerHTML.slice(0, 60));
  card.querySelectorAll('a:not(.open), button, .button, select, input').forEach(own => {
    const o = own.getBoundingClientRect();
    if (!o.width) return;
    const hit = document.elementFromPoint(o.left + o.width / 2, o.top + o.height / 2);
    if (!own.contains(hit) && !(hit && hit.contains(own))) problems.push('covered ' + own.outerHTML.slice(0, 60));
  });
  return problems;
})"""


def test_a_tap_anywhere_on_a_list_card_opens_it(defects, live_server, browser, site):
    routes.make_record(spot_by_code("CP-01"), user("guard"))
    db.session.commit()
    setup = f"/setup/sites/{site.id}"
    pages = {"guard": ["/"], "supervisor": ["/defects/", "/defects/?status=all"],
             "admin": [f"{setup}/spots", f"{setup}/sops", f"{setup}/schedules", "/setup/users",
                       "/setup/sites", f"/spots/{spot_by_code('CP-01').id}/history"]}
    for username, paths in pages.items():
        context = browser.new_context(**PHONE, locale="en")
        page = context.new_page()
        page.goto(f"{live_server.url}/login?lang=en")
        log_in(page, username)
        for path in paths:
            page.goto(live_server.url + path)
            assert page.locator(".card a.open").count() > 0, path
            assert page.evaluate(CARD_TAPS) == [], path
        context.close()


def test_the_schedule_form_shows_the_fields_of_the_chosen_frequency_only(live_server, browser,
                                                                        site):
    context = browser.new_context(**PHONE, locale="en")
    page = context.new_page()
    page.goto(f"{live_server.url}/login?lang=en")
    log_in(page, "admin")
    page.goto(f"{live_server.url}/setup/sites/{site.id}/schedules/new?kind=route")
    shown = {name: page.locator(f"[name={name}]").first for name in
             ("span_start", "every", "count", "times", "weekdays", "day", "month")}
    for timing, visible in (("interval", {"span_start", "every", "weekdays"}),
                            ("spread", {"span_start", "count", "weekdays"}),
                            ("times", {"times", "weekdays"}),
                            ("daily", {"weekdays"}),
                            ("monthly", {"day"}),
                            ("yearly", {"day", "month"})):
        page.select_option("select[name=timing]", timing)
        for name, locator in shown.items():
            if name in visible:
                expect(locator).to_be_visible()
            else:
                expect(locator).to_be_hidden()
    context.close()
