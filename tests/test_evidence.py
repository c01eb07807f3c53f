"""Evidence on records: times, places, photos and patterns, each flag with its reason."""
import math
import re
from datetime import datetime, timedelta
from io import BytesIO

import pytest
from sqlalchemy import select

from app import due, evidence
from app.extensions import db
from app.models import DayCount, Photo, Record, Scan
from app.models.base import utcnow
from app.photos import hash_distance, process
from app.reports import stats
from PIL import Image
from werkzeug.datastructures import MultiDict

from .conftest import spot_by_code
from .helpers import answers, html
from .photo_samples import encode, passed_on, scene, taken_again

LAKE = (30.2741, 120.1551)  # where the demo's gate labels are put in these tests


def north_of(point, metres):
    return point[0] + metres / 111_195, point[1]


def place(spot, point, radius=None):
    spot.latitude, spot.longitude = point
    spot.radius = radius
    db.session.commit()


def scan(client, spot, seconds_ago=0) -> int:
    client.get(f"/t/{spot.token}")
    row = db.session.scalar(select(Scan).where(Scan.spot_id == spot.id).order_by(Scan.id.desc()))
    row.at = utcnow() - timedelta(seconds=seconds_ago)
    db.session.commit()
    return row.id


def send(client, spot, key, photo=None, **fields) -> Record:
    """Submit the spot's SOP; `photo` for its first photo, a photo of its own for each other."""
    data = answers(spot, key=key, **fields)
    slots = [name for name in data if name.startswith("photo-")] or ["photo-0"]
    for i, name in enumerate(slots):
        own = photo if photo is not None and i == 0 else \
            encode(scene(int(key[:6], 16) + i, size=(400, 300)), "JPEG")
        data[name] = (BytesIO(own), "photo.jpg")
    response = client.post(f"/spots/{spot.id}/records", data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    db.session.expire_all()
    return db.session.scalar(select(Record).where(Record.submission_key == key))


def codes(record) -> list[str]:
    return [flag["code"] for flag in record.flags]


def ms(moment: datetime) -> str:
    return str(round((moment - datetime(1970, 1, 1)).total_seconds() * 1000))


# What the phone reports -------------------------------------------------------

def test_the_phone_s_fields_are_read_and_odd_values_are_dropped():
    now = datetime(2026, 11, 27, 2, 0)
    form = MultiDict({"captured_at": ms(now + timedelta(minutes=9)),
                      "sent_at": ms(now + timedelta(minutes=10)), "scan_ms": "95000",
                      "latitude": "30.27", "longitude": "120.15", "accuracy": "12.5"})
    got = evidence.read(form, now)
    assert got.clock_skew == 600 and got.scan_seconds == 95
    assert got.done_at(now) == now - timedelta(minutes=1)  # the phone's time, corrected
    assert (got.latitude, got.longitude, got.accuracy) == (30.27, 120.15, 12.5)
    for bad in ({"latitude": "91", "longitude": "0", "accuracy": "5"},
                {"latitude": "nan", "longitude": "0", "accuracy": "5"},
                {"latitude": "1", "longitude": "2"},  # no accuracy, no location
                {"captured_at": "12", "sent_at": "x", "scan_ms": "-4"}):
        got = evidence.read(MultiDict(bad), now)
        assert got == evidence.Reported()
        assert got.done_at(now) == now


def test_a_capture_time_is_never_after_arrival_nor_more_than_a_week_before():
    now = datetime(2026, 11, 27, 2, 0)
    ahead = evidence.Reported(captured_at=now + timedelta(hours=1), clock_skew=0)
    assert ahead.done_at(now) == now
    old = evidence.Reported(captured_at=now - timedelta(days=30), clock_skew=0)
    assert old.done_at(now) == now - evidence.MAX_BACKDATE


def test_distances_on_the_earth():
    assert round(evidence.metres(*LAKE, *north_of(LAKE, 850))) == 850
    # Beijing to Shanghai, about 1,067 km as the crow flies.
    assert math.isclose(evidence.metres(39.9042, 116.4074, 31.2304, 121.4737), 1_067_000,
                        rel_tol=0.01)


# Times -------------------------------------------------------------------------

def test_a_record_sent_later_keeps_both_times_and_its_offline_scan(as_user):
    spot = spot_by_code("CP-04")
    client = as_user("guard")
    kept = client.get(f"/t/{spot.token}", headers={"X-Rounds-Offline-Copy": "1"})
    scan_pass = re.search(r'name="offline_scan" value="([^"]+)"', html(kept)).group(1)
    now = utcnow()  # the phone sends now: the times below are within the send's own delay
    filled = now - timedelta(hours=3)
    record = send(client, spot, "a" * 32, offline_scan=scan_pass, scan_ms="40000",
                  captured_at=ms(filled), sent_at=ms(now))
    assert abs(record.submitted_at - filled) < timedelta(seconds=2)
    assert abs(record.received_at - now) < timedelta(seconds=5)
    assert record.scan.offline and record.scan.user_id == record.user_id
    assert abs(record.scan.at - (filled - timedelta(seconds=40))) < timedelta(seconds=2)
    assert record.scan_seconds == 40
    assert codes(record) == ["sent_late"]
    assert record.flags[0]["s"] == pytest.approx(3 * 3600, abs=5)


def test_an_offline_scan_needs_the_pass_of_the_kept_page_of_that_spot_and_user(as_user):
    spot, other = spot_by_code("CP-04"), spot_by_code("CP-03")
    client = as_user("guard")
    kept = client.get(f"/t/{other.token}", headers={"X-Rounds-Offline-Copy": "1"})
    other_pass = re.search(r'name="offline_scan" value="([^"]+)"', html(kept)).group(1)
    for i, forged in enumerate(["1", other_pass]):
        record = send(client, spot, str(i) * 32, offline_scan=forged)
        assert record.scan is None  # so it fills no round
    record = send(as_user("cleaner"), other, "c" * 32, offline_scan=other_pass)
    assert record.scan is None


def test_a_live_submit_times_the_scan_on_the_server(as_user):
    spot = spot_by_code("CP-04")
    client = as_user("guard")
    scan_id = scan(client, spot, seconds_ago=75)
    record = send(client, spot, "a" * 32, scan_id=str(scan_id))
    assert record.scan_id == scan_id and not record.scan.offline
    assert record.scan_seconds == pytest.approx(75, abs=3)
    assert record.submitted_at == record.received_at
    assert record.flags == [] and not record.flagged


def test_a_live_scan_is_timed_on_the_server_whatever_the_phone_says(as_user):
    spot = spot_by_code("CP-04")
    client = as_user("guard")
    scan_id = scan(client, spot, seconds_ago=4)
    record = send(client, spot, "a" * 32, scan_id=str(scan_id), scan_ms="600000")
    assert record.scan_seconds == pytest.approx(4, abs=3)
    unscanned = send(client, spot, "b" * 32, scan_ms="600000")  # no label opened
    assert unscanned.scan is None and unscanned.scan_seconds is None


# Behind by ten minutes may be a slow upload (the phone stamps the start, the server the end).
@pytest.mark.parametrize("skew, flagged", [(3600, True), (-1200, True), (120, False),
                                          (-600, False)])
def test_a_phone_clock_far_from_the_server_s_is_flagged(as_user, skew, flagged):
    spot = spot_by_code("CP-04")
    now = utcnow()
    record = send(as_user("guard"), spot, "a" * 32, captured_at=ms(now + timedelta(seconds=skew)),
                  sent_at=ms(now + timedelta(seconds=skew)))
    assert record.clock_skew == pytest.approx(skew, abs=3)
    assert abs(record.submitted_at - now) < timedelta(seconds=5)
    assert codes(record) == (["clock_off"] if flagged else [])


def test_a_late_record_makes_the_dashboard_count_its_day_again(as_user, site):
    spot = spot_by_code("CP-04")
    now = utcnow()
    today = evidence.local_date(site.timezone, now - timedelta(minutes=30))  # the record's day
    for back in range(1, 7):
        db.session.add(DayCount(site_id=site.id, day=today - timedelta(days=back), rules=1,
                                counts=[]))
    db.session.commit()
    send(as_user("guard"), spot, "a" * 32, captured_at=ms(now - timedelta(minutes=30)),
         sent_at=ms(now))
    kept = db.session.scalars(select(DayCount.day).where(DayCount.site_id == site.id)).all()
    assert kept == [today - timedelta(days=6)]


def test_a_dashboard_view_counting_as_a_late_record_arrives_keeps_none_of_its_days(
        as_user, site, monkeypatch):
    """The view reads the records; the late record lands and forgets the days; the view
    would then keep counts made without it, for days it may change: it keeps none. The
    next view counts the record and keeps them."""
    spot, now, guard, late = spot_by_code("CP-04"), utcnow(), as_user("guard"), []
    matched = due.period

    def arriving_meanwhile(*args, **kwargs):
        found = matched(*args, **kwargs)
        if not late:
            late.append(send(guard, spot, "a" * 32, sent_at=ms(now),
                             captured_at=ms(now - timedelta(hours=30))))
        return found

    monkeypatch.setattr(due, "period", arriving_meanwhile)
    stats.board(site, 7, now)
    db.session.commit()  # see what the view's own transaction stored
    assert late and db.session.scalars(select(DayCount.day)).all() == []
    monkeypatch.setattr(due, "period", matched)
    monkeypatch.setattr(stats, "utcnow", lambda: now + timedelta(minutes=2))  # a view later
    stats.board(site, 7, now)
    db.session.commit()
    assert len(db.session.scalars(select(DayCount.day)).all()) >= 4


# Places ------------------------------------------------------------------------

@pytest.mark.parametrize("away, accuracy, far", [
    (850, 20, True),   # 850 m off, the phone sure of itself within 20 m
    (60, 20, False),   # within 30 m radius + 2 x 20 m
    (850, 500, False),  # the phone only knows it within 500 m
])
def test_a_record_far_from_its_spot_is_flagged_beyond_the_accuracy(as_user, away, accuracy, far):
    spot = spot_by_code("CP-04")
    place(spot, LAKE, radius=30)
    where = north_of(LAKE, away)
    record = send(as_user("guard"), spot, "a" * 32, latitude=str(where[0]),
                  longitude=str(where[1]), accuracy=str(accuracy))
    assert record.distance == pytest.approx(away, abs=1)
    assert record.accuracy == accuracy
    assert codes(record) == (["far_from_spot"] if far else [])


def test_no_location_or_no_coordinates_stores_no_distance(as_user):
    spot = spot_by_code("CP-04")
    client = as_user("guard")
    record = send(client, spot, "a" * 32, latitude="30.2", longitude="120.1", accuracy="10")
    assert record.latitude == 30.2 and record.distance is None  # the spot has no coordinates
    place(spot, LAKE)
    record = send(client, spot, "b" * 32)
    assert record.latitude is None and record.distance is None and record.flags == []


# Photos ------------------------------------------------------------------------

def test_perceptual_hashes_survive_recompression_and_tell_places_apart():
    photo = encode(scene(1), "JPEG", quality=90)
    first = process(photo).phash
    assert hash_distance(first, process(passed_on(photo)).phash) <= evidence.PHOTO_BITS
    again = encode(taken_again(scene(1)), "JPEG", quality=90)
    assert hash_distance(first, process(again).phash) > 2 * evidence.PHOTO_BITS
    assert hash_distance(first, process(encode(scene(2), "JPEG")).phash) > 2 * evidence.PHOTO_BITS


def test_a_re_used_photo_is_flagged_even_resized_and_recompressed(as_user):
    client = as_user("guard")
    photo = encode(scene(7), "JPEG", quality=90)
    first = send(client, spot_by_code("CP-01"), "a" * 32, photo=photo)
    assert "photo_reused" not in codes(first)
    later = send(client, spot_by_code("CP-03"), "b" * 32, photo=passed_on(photo))
    flag = next(f for f in later.flags if f["code"] == "photo_reused")
    assert flag["record"] == first.id and flag["spot_en"] == "East gate"
    assert later.flagged


def test_two_photos_of_the_same_spot_are_not_a_re_use(as_user):
    client = as_user("guard")
    spot = spot_by_code("CP-01")
    send(client, spot, "a" * 32, photo=encode(scene(7), "JPEG", quality=90))
    later = send(client, spot, "b" * 32, photo=encode(taken_again(scene(7)), "JPEG", quality=90))
    assert "photo_reused" not in codes(later)


def test_plain_dark_or_white_photos_are_never_a_re_use(as_user):
    client = as_user("guard")
    send(client, spot_by_code("CP-01"), "a" * 32, photo=encode(Image.new("RGB", (800, 600)), "JPEG"))
    later = send(client, spot_by_code("CP-03"), "b" * 32,
                 photo=encode(Image.new("RGB", (800, 600), "white"), "JPEG"))
    assert "photo_reused" not in codes(later)
    assert later.photos[0].phash == "" and later.photos[0].bands == []


def test_a_photo_older_than_90_days_is_not_compared(as_user):
    client = as_user("guard")
    photo = encode(scene(7), "JPEG", quality=90)
    send(client, spot_by_code("CP-01"), "a" * 32, photo=photo)
    for old in db.session.scalars(select(Photo)):
        old.created_at -= timedelta(days=91)
    db.session.commit()
    later = send(client, spot_by_code("CP-03"), "b" * 32, photo=photo)
    assert "photo_reused" not in codes(later)


# Patterns ----------------------------------------------------------------------

@pytest.mark.parametrize("seconds, too_fast", [(30, True), (400, False)])
def test_checkpoints_scanned_faster_than_walking_are_flagged(as_user, seconds, too_fast):
    client = as_user("guard")
    gate, car_park = spot_by_code("CP-01"), spot_by_code("CP-03")
    place(gate, LAKE)
    place(car_park, north_of(LAKE, 500))
    send(client, gate, "a" * 32, scan_id=str(scan(client, gate, seconds_ago=seconds)))
    later = send(client, car_park, "b" * 32, scan_id=str(scan(client, car_park)))
    if not too_fast:  # 500 m in almost 7 minutes is a walk
        assert later.flags == []
        return
    assert codes(later) == ["too_fast"]
    assert later.flags[0]["m"] == 500 and later.flags[0]["s"] == pytest.approx(30, abs=2)
    assert later.flags[0]["from_en"] == "East gate"


@pytest.mark.parametrize("username, gap, rushed", [("guard", 3, True), ("guard", 60, False),
                                                    ("tech", 3, False)])
def test_a_whole_route_done_in_seconds_is_flagged(as_user, username, gap, rushed):
    """Not for a technician: their visits fill no patrol round (roles), so they walk none."""
    client = as_user(username)
    stops = ["CP-01", "CP-02", "CP-03"]  # the demo's day patrol
    records = []
    for i, code in enumerate(stops):
        spot = spot_by_code(code)
        scan_id = scan(client, spot, seconds_ago=gap * (len(stops) - 1 - i))
        records.append(send(client, spot, str(i) * 32, scan_id=scan_id))
    assert [codes(r) for r in records[:-1]] == [[], []]
    if rushed:
        assert codes(records[-1]) == ["route_rushed"]
        flag = records[-1].flags[0]
        assert flag["n"] == 3 and flag["route_en"] == "Day patrol" and flag["s"] <= 2 * gap + 2
    else:
        assert records[-1].flags == []
