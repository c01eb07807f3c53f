"""Working without signal, in Chromium on a phone: the outbox, kept pages, shrunk photos."""
import re
import time
from io import BytesIO

import pytest
from flask import request
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Photo, Record, Spot

from .conftest import PHONE, spot_by_code
from .photo_samples import encode, phone_exif, scene
from .test_browser_loop import log_in
from .test_browser_screens import TOO_SMALL

SAVED = "No signal: saved on this phone"


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(**PHONE, locale="en")
    yield context
    context.close()


def records() -> list[Record]:
    db.session.rollback()
    return db.session.scalars(select(Record).order_by(Record.id)).all()


def wait_for_records(n: int, seconds=10) -> list[Record]:
    deadline = time.monotonic() + seconds
    while len(found := records()) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def camera_photo() -> dict:
    """A 12-megapixel photo the phone held sideways: the pixels are landscape, EXIF says
    turn it a quarter clockwise. A red block marks the pixels' top-left corner."""
    im = scene(3, size=(4000, 3000))
    im.paste((220, 30, 30), (0, 0, 800, 600))
    return {"name": "IMG_0001.jpg", "mimeType": "image/jpeg",
            "buffer": encode(im, "JPEG", quality=92, exif=phone_exif(6))}


def wait_until(page, expression: str, arg=None, seconds=30):
    """Wait until the page's expression is true. Playwright's wait_for_function re-evaluates
    a string with `new Function` inside the page, which the app's CSP (no eval) refuses;
    page.evaluate is not subject to it. 30 s, as wait_for_function gave."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(f"(arg) => Promise.resolve({expression}).then(Boolean)", arg):
        assert time.monotonic() < deadline, f"still false after {seconds} s: {expression}"
        time.sleep(0.1)


# How many items the phone's outbox holds (IndexedDB "rounds", store "outbox").
OUTBOX_COUNT = ("new Promise(done => { const open = indexedDB.open('rounds', 1);"
                " open.onerror = () => done(-1);"
                " open.onsuccess = () => { const count = open.result.transaction('outbox')"
                ".objectStore('outbox').count(); count.onsuccess = () => done(count.result); }; })")


def wait_for_service_worker(page):
    """Until the service worker controls the page. On a loaded machine its first install
    has now and then not finished in 30 s (the cause is not known); a phone tries again on
    the next page it opens, and so does this, once."""
    controlled = "navigator.serviceWorker && navigator.serviceWorker.controller"
    try:
        wait_until(page, controlled, seconds=20)
    except AssertionError:
        page.reload()
        wait_until(page, controlled)


def open_spot(page, base, spot, username="guard"):
    page.goto(f"{base}/t/{spot.token}?lang=en")
    if page.locator("input[name=username]").count():
        log_in(page, username)
    expect(page.locator("h1")).to_have_text(spot.name_en)
    wait_for_service_worker(page)


def fill(page, spot, photo=None):
    for step in spot.sop.current.steps:
        if step.kind == "tick":
            page.locator(f'input[name="step-{step.id}"][value="ok"]').check()
        elif step.kind == "reading":
            page.fill(f'input[name="step-{step.id}"]', f"{(step.min_value or 0) + 1:g}")
        else:
            page.fill(f'input[name="step-{step.id}"]', "fine")
        if step.photo_required:
            page.set_input_files(f'input[name="photo-{step.id}"]', files=[photo or camera_photo()])


def save_offline(phone, base, spot):
    """Open the spot's label, fill its checklist with a photo and submit it with no network."""
    page = phone.new_page()
    open_spot(page, base, spot)
    fill(page, spot)
    phone.set_offline(True)
    page.click("form.sop button.primary")
    expect(page.locator(".outbox-notice")).to_contain_text(SAVED)
    return page


def save_unsent(phone, base, spot):
    """The same with the phone still online but the submit cut off (a signal lost in the
    stairwell): no "online" event will come to send it."""
    page = phone.new_page()
    open_spot(page, base, spot)
    fill(page, spot)
    page.route("**/spots/*/records", lambda route: route.abort("internetdisconnected"))
    page.click("form.sop button.primary")
    expect(page.locator(".outbox-notice")).to_contain_text(SAVED)
    return page


def posts(page) -> list:
    sent = []
    page.on("request", lambda r: sent.append(r) if r.method == "POST" and "/records" in r.url else None)
    return sent


@pytest.fixture
def uploads(app) -> list[int]:
    """The size of each record form the server receives, as its request says."""
    sizes = []
    app.before_request(lambda: sizes.append(request.content_length)
                       if request.method == "POST" and request.path.endswith("/records") else None)
    return sizes


def test_offline_submit_survives_a_reload_and_arrives_once_with_its_photo(phone, live_server):
    spot = spot_by_code("CP-04")
    page = save_offline(phone, live_server.url, spot)
    expect(page.locator("#outbox-status")).to_contain_text("Waiting to send: 1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.evaluate(TOO_SMALL, "#outbox-status button, #outbox-status .button") == []

    page.reload()  # still offline: the phone's copy of the outbox page opens instead
    expect(page.locator("#outbox-items li")).to_have_count(1)
    expect(page.locator("#outbox-items li")).to_contain_text(spot.name_en)
    # When the work was done, written as the app's pages write times.
    expect(page.locator("#outbox-items li [data-part=time]")).to_have_text(
        re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d"))
    assert records() == []

    phone.set_offline(False)  # the browser says it is online: the outbox sends by itself
    expect(page.locator("#outbox-empty")).to_be_visible(timeout=10_000)
    expect(page.locator("#outbox-status")).to_be_hidden()
    [record] = wait_for_records(1)
    [photo] = record.photos
    assert (photo.width, photo.height) == (1200, 1600)  # upright and shrunk
    assert record.captured_at is not None and record.scan_seconds is not None
    page.reload()
    time.sleep(0.5)
    assert len(records()) == 1


def test_a_waiting_record_survives_closing_the_browser(browser_type, browser_type_launch_args,
                                                       live_server, tmp_path):
    """WeChat's browser is closed, or the phone turned off, with a record still waiting: the
    outbox is kept in the browser's profile, and the record goes the next time the app is
    opened, after a new login if the session ended with the browser."""
    spot = spot_by_code("CP-04")

    def start_browser():  # the same profile folder each time, as a phone's browser has
        return browser_type.launch_persistent_context(
            str(tmp_path / "profile"), **browser_type_launch_args, **PHONE, locale="en")

    phone = start_browser()
    try:
        save_offline(phone, live_server.url, spot)
    finally:
        phone.close()
    assert records() == []

    phone = start_browser()
    try:
        page = phone.new_page()
        page.goto(f"{live_server.url}/?lang=en")
        if page.locator("input[name=username]").count():
            log_in(page, "guard")
        [record] = wait_for_records(1, seconds=30)
        assert record.spot_id == spot.id and record.user.username == "guard"
        assert len(record.photos) == 1
        expect(page.locator("#outbox-status")).to_be_hidden(timeout=10_000)
        page.reload()
        time.sleep(0.5)
        assert len(records()) == 1
    finally:
        phone.close()


def test_a_double_tap_on_submit_sends_one_request(phone, live_server):
    spot = spot_by_code("CP-04")
    page = phone.new_page()
    open_spot(page, live_server.url, spot)
    fill(page, spot)
    sent = posts(page)
    page.locator("form.sop button.primary").dblclick()
    expect(page.locator(".notice.ok")).to_be_visible(timeout=15_000)
    assert len(sent) == 1 and len(records()) == 1


def test_photos_shrink_on_the_phone_before_they_travel(phone, live_server, uploads):
    spot = spot_by_code("CP-04")
    page = phone.new_page()
    open_spot(page, live_server.url, spot)
    original = camera_photo()
    fill(page, spot, original)
    page.click("form.sop button.primary")
    expect(page.locator(".notice.ok")).to_be_visible(timeout=15_000)
    assert uploads[0] < len(original["buffer"]) / 2
    stored = stored_photo(records()[0].photos[0])
    assert stored.size == (1200, 1600)
    assert red(stored.getpixel((stored.width - 10, 10)))  # the pixels' top-left, turned


def test_without_canvas_the_original_goes_and_the_server_turns_and_shrinks_it(phone, live_server,
                                                                              uploads):
    spot = spot_by_code("CP-04")
    page = phone.new_page()
    page.add_init_script("delete HTMLCanvasElement.prototype.toBlob")
    open_spot(page, live_server.url, spot)
    original = camera_photo()
    fill(page, spot, original)
    page.click("form.sop button.primary")
    expect(page.locator(".notice.ok")).to_be_visible(timeout=15_000)
    assert uploads[0] > len(original["buffer"])
    stored = stored_photo(records()[0].photos[0])
    assert stored.size == (1200, 1600) and red(stored.getpixel((stored.width - 10, 10)))


def stored_photo(photo: Photo) -> Image.Image:
    from flask import current_app

    from app import storage

    full, _ = storage.photo_paths(current_app.config["PHOTO_DIR"], photo.sha256)
    with open(full, "rb") as f:
        return Image.open(BytesIO(f.read())).convert("RGB")


def red(pixel) -> bool:
    return pixel[0] > 150 and pixel[1] < 90 and pixel[2] < 90


def test_an_expired_session_asks_for_a_login_then_sends_losing_nothing(phone, live_server):
    spot = spot_by_code("CP-04")
    page = save_offline(phone, live_server.url, spot)

    phone.clear_cookies()  # the session ends while the phone is in the basement
    phone.set_offline(False)
    login = page.locator("#outbox-status [data-outbox-login]")
    expect(login).to_be_visible(timeout=10_000)
    expect(page.locator("#outbox-status")).to_contain_text("Log in again")
    assert records() == []
    login.click()
    log_in(page, "guard")
    expect(page.locator("h1")).to_have_text(spot.name_en)  # back where they were
    [record] = wait_for_records(1)
    assert len(record.photos) == 1 and record.user.username == "guard"
    expect(page.locator("#outbox-status")).to_be_hidden()


def test_a_form_token_from_a_replaced_session_is_renewed_without_a_login(app, phone, live_server):
    """The worker ticked "keep me logged in". While the record waited, the session cookie
    went (the remember cookie stayed), so the server starts a new session with a new form
    token and refuses the one the open page holds. The outbox asks for a fresh token and
    sends again; nobody is asked to log in."""
    spot = spot_by_code("CP-04")
    answers = []  # the server's answers to record forms
    app.after_request(lambda response: answers.append(response.status_code) or response
                      if request.method == "POST" and request.path.endswith("/records")
                      else response)
    page = phone.new_page()
    page.goto(f"{live_server.url}/t/{spot.token}?lang=en")
    page.fill("input[name=username]", "guard")
    page.fill("input[name=password]", "demo1234")
    page.check("input[name=remember]")
    page.click("form button.primary")
    expect(page.locator("h1")).to_have_text(spot.name_en)
    wait_for_service_worker(page)
    fill(page, spot)
    phone.set_offline(True)
    page.click("form.sop button.primary")
    expect(page.locator(".outbox-notice")).to_contain_text(SAVED)

    phone.clear_cookies(name="session")
    cookies = {c["name"] for c in phone.cookies()}
    assert "session" not in cookies and "remember_token" in cookies
    phone.set_offline(False)
    [record] = wait_for_records(1)
    assert record.user.username == "guard" and len(record.photos) == 1
    assert answers == [400, 201]  # refused once for its token, then sent with a fresh one
    expect(page.locator("#outbox-status")).to_be_hidden()  # no "Log in again"


def test_a_waiting_record_is_sent_when_the_app_comes_back_into_view(phone, live_server):
    """iOS has no Background Sync: switching back to WeChat or the browser is when the
    outbox gets its next chance, without a reload and with no "online" event."""
    spot = spot_by_code("CP-04")
    page = save_unsent(phone, live_server.url, spot)
    page.unroute("**/spots/*/records")
    assert records() == []
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # back in view
    [record] = wait_for_records(1)
    assert record.spot_id == spot.id


def test_logging_out_with_a_waiting_record_asks_first_then_clears_it(phone, live_server):
    spot = spot_by_code("CP-04")
    page = save_unsent(phone, live_server.url, spot)

    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.click("form[data-logout] button")
    page.wait_for_timeout(500)
    assert "1 records on this phone have not been sent" in questions[0]
    expect(page.locator("form[data-logout]")).to_be_visible()  # still logged in
    expect(page.locator("#outbox-status")).to_contain_text("Waiting to send: 1")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form[data-logout] button")
    expect(page.locator("input[name=username]")).to_be_visible()
    # The login page clears the phone once it has loaded; leaving it within milliseconds,
    # as only a test can, would abort that (seen once in CI).
    wait_until(page, OUTBOX_COUNT + ".then(n => n === 0)")
    page.goto(f"{live_server.url}/outbox?lang=en")
    expect(page.locator("#outbox-empty")).to_be_visible()
    assert records() == []


def keep_today(page, base, username) -> list[str]:
    """Log in on the start page, which has the service worker keep today's scan pages."""
    page.goto(f"{base}/?lang=en")
    log_in(page, username)
    wait_for_service_worker(page)
    page.reload()
    urls = page.evaluate("fetch('/offline/pages').then(r => r.json()).then(j => j.pages)")
    assert urls
    wait_until(page, "caches.open('pages-' + document.body.dataset.user)"
               ".then(c => Promise.all(arg.map(u => c.match(u)))).then(found => found.every(Boolean))",
               urls)
    return urls


def test_a_label_opens_offline_from_today_s_kept_pages(phone, live_server):
    page = phone.new_page()
    urls = keep_today(page, live_server.url, "guard")
    phone.set_offline(True)
    token = urls[0].removeprefix("/t/")
    spot = db.session.scalar(select(Spot).where(Spot.token == token))
    page.goto(f"{live_server.url}{urls[0]}")  # the guard scans the label in the car park
    expect(page.locator("h1")).to_have_text(spot.name_en)
    fill(page, spot)
    page.click("form.sop button.primary")
    expect(page.locator("#outbox-status")).to_be_visible()

    phone.set_offline(False)
    [record] = wait_for_records(1)
    assert record.spot_id == spot.id and record.scan.offline
    assert len(record.submission_key) == 32


def test_an_incident_reported_without_signal_arrives_once_with_its_photo(phone, live_server):
    from app.models import Defect

    spot = spot_by_code("CP-04")
    page = phone.new_page()
    page.goto(f"{live_server.url}/incidents/new?spot={spot.id}&lang=en")
    log_in(page, "guard")
    wait_for_service_worker(page)
    page.locator("input[name=kind][value=water_leak]").check()
    page.locator("input[name=severity][value=medium]").check()
    page.fill("textarea[name=note]", "Water on the floor by the lift")
    page.set_input_files("input[name=photo]", files=[camera_photo()])
    phone.set_offline(True)
    page.click("form.incident button.primary")
    expect(page.locator(".outbox-notice")).to_contain_text(SAVED)
    phone.set_offline(False)
    expect(page.locator("h1")).to_be_visible()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        db.session.rollback()
        if (defects := db.session.scalars(select(Defect)).all()):
            break
        time.sleep(0.1)
    [defect] = [d for d in defects if d.note == "Water on the floor by the lift"]
    assert defect.spot_id == spot.id and len(defect.photos) == 1


def test_a_refused_record_shows_its_reason_and_is_not_sent_again(phone, live_server):
    spot = spot_by_code("CP-04")
    page = save_offline(phone, live_server.url, spot)

    # While the guard is underground, the admin rewords a step of this checklist.
    db.session.rollback()  # a fresh transaction: on SQLite the old one read before the scan
    step = spot.sop.current.steps[0]
    step.label_en += " (both doors)"
    db.session.commit()
    sent = posts(page)
    phone.set_offline(False)
    expect(page.locator("#outbox-status")).to_contain_text("Refused, to fix before sending: 1", timeout=10_000)
    page.goto(f"{live_server.url}/outbox")
    item = page.locator("#outbox-items li")
    expect(item.locator(".error")).to_contain_text("The checklist was changed")
    page.reload()
    page.wait_for_timeout(1000)
    assert len(sent) == 1 and records() == []  # refused once, not tried again

    item.get_by_role("button", name="Open to fix").click()  # the form, with its photo kept
    expect(page.locator(".notice.error")).to_contain_text("The checklist was changed")
    expect(page.locator("form.sop img")).to_have_count(1)
    expect(page.locator("#outbox-status")).to_contain_text("Refused, to fix before sending: 1")
    page.click("form.sop button.primary")  # checked again, sent again: the same record key
    expect(page.locator(".notice.ok")).to_be_visible(timeout=15_000)
    [record] = records()
    assert len(record.photos) == 1
    expect(page.locator("#outbox-status")).to_be_hidden()


# Moves every item of the phone's outbox an hour back in time, as if saved on an earlier round.
AN_HOUR_EARLIER = ("new Promise(done => { const open = indexedDB.open('rounds', 1);"
                   " open.onsuccess = () => { const tx = open.result.transaction('outbox',"
                   " 'readwrite'), store = tx.objectStore('outbox'), all = store.getAll();"
                   " all.onsuccess = () => all.result.forEach(item => { item.capturedAt -="
                   " 3600000; store.put(item); }); tx.oncomplete = () => done(true); }; })")


def test_a_form_refused_on_screen_then_done_again_from_a_new_scan_is_dropped(phone,
                                                                             live_server):
    """The guard mistypes a reading and sees the form come back with its message; instead
    of fixing that page, they scan the label again and do it all. The refused copy was the
    same visit's work: once the new one is sent, it goes. One refused on an earlier round
    is other work, and waits to be fixed."""
    spot = spot_by_code("CP-04")
    reading = next(step for step in spot.sop.current.steps if step.kind == "reading")
    page = phone.new_page()

    def refused_typo():
        open_spot(page, live_server.url, spot)
        fill(page, spot)
        page.fill(f'input[name="step-{reading.id}"]', "abc")
        page.click("form.sop button.primary")
        expect(page.locator(".notice.error")).to_be_visible(timeout=10_000)

    def done_again():
        open_spot(page, live_server.url, spot)
        fill(page, spot)
        page.click("form.sop button.primary")
        expect(page.locator(".notice.ok")).to_be_visible(timeout=15_000)

    refused_typo()
    expect(page.locator("#outbox-status")).to_contain_text("Refused, to fix before sending: 1")
    assert page.evaluate(AN_HOUR_EARLIER)  # an earlier round's: other work
    done_again()
    assert len(records()) == 1
    page.wait_for_timeout(500)
    assert page.evaluate(OUTBOX_COUNT) == 1

    refused_typo()  # this round's
    assert page.evaluate(OUTBOX_COUNT) == 2
    done_again()
    assert len(records()) == 2
    wait_until(page, OUTBOX_COUNT + ".then(n => n === 1)")
    page.goto(f"{live_server.url}/?lang=en")
    expect(page.locator("#outbox-status")).to_contain_text("Refused, to fix before sending: 1")


def test_the_phone_s_location_is_sent_for_a_spot_with_coordinates(browser, live_server):
    spot = spot_by_code("CP-04")
    spot.latitude, spot.longitude, spot.radius = 30.2741, 120.1551, 30
    db.session.commit()
    context = browser.new_context(**PHONE, locale="en", permissions=["geolocation"],
                                  geolocation={"latitude": 30.2786, "longitude": 120.1551,
                                               "accuracy": 15})
    page = context.new_page()
    open_spot(page, live_server.url, spot)
    wait_until(page, "document.querySelector('form.sop').elements.accuracy")
    fill(page, spot)
    page.click("form.sop button.primary")
    expect(page.locator(".notice.ok")).to_be_visible(timeout=15_000)
    [record] = records()
    assert (record.latitude, record.longitude, record.accuracy) == (30.2786, 120.1551, 15)
    assert record.distance == 500 and record.flags[0]["code"] == "far_from_spot"
    context.close()


# Counts the page's requests for the phone's position, across page loads.
COUNT_LOCATION_ASKS = """
const ask = navigator.geolocation.getCurrentPosition.bind(navigator.geolocation);
navigator.geolocation.getCurrentPosition = function (...args) {
  localStorage.setItem("asks", String(Number(localStorage.getItem("asks") || 0) + 1));
  return ask(...args);
};
"""


def test_a_worker_who_refuses_the_location_is_not_asked_again(phone, live_server):
    """The refusal is kept on the phone: the next labels do not ask again, and a record
    goes without a location."""
    spot = spot_by_code("CP-04")
    spot.latitude, spot.longitude, spot.radius = 30.2741, 120.1551, 30
    db.session.commit()
    phone.add_init_script(COUNT_LOCATION_ASKS)  # no permission given: the browser refuses
    page = phone.new_page()
    open_spot(page, live_server.url, spot)
    wait_until(page, "localStorage.getItem('rounds-location') === 'refused'")
    assert page.evaluate("localStorage.getItem('asks')") == "1"

    open_spot(page, live_server.url, spot)  # the next label, or the same one again
    fill(page, spot)
    page.click("form.sop button.primary")
    expect(page.locator(".notice.ok")).to_be_visible(timeout=15_000)
    assert page.evaluate("localStorage.getItem('asks')") == "1"
    [record] = records()
    assert record.spot_id == spot.id


def test_pages_kept_for_one_user_never_open_for_another_on_a_shared_phone(phone, live_server):
    page = phone.new_page()
    urls = keep_today(page, live_server.url, "guard")
    phone.clear_cookies()  # the guard's session ends without a logout
    page.goto(f"{live_server.url}/?lang=en")
    log_in(page, "cleaner")
    wait_until(page, "caches.keys().then(names => !names.some(n => n.startsWith('pages-')"
               " && n !== 'pages-' + document.body.dataset.user))")
    phone.set_offline(True)
    page.goto(f"{live_server.url}{urls[0]}")
    expect(page.locator("#outbox-items")).to_be_attached()  # the outbox page, not the guard's
    expect(page.locator("form.sop")).to_have_count(0)


def test_after_a_logout_the_next_login_gets_today_s_pages_at_once(phone, live_server):
    """Logging out lets the kept pages go; the next login keeps them again at once, not
    15 minutes later: the same worker back from a break, or the next one on the phone."""
    page = phone.new_page()
    for username in ("guard", "guard", "cleaner"):
        keep_today(page, live_server.url, username)
        page.click("form[data-logout] button")
        expect(page.locator("input[name=username]")).to_be_visible()
