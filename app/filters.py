"""Jinja filters: local times, durations, and the words for kinds, roles, statuses and flags."""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from .extensions import db
from .i18n import is_chinese, pick
from .models import Site

KIND_NAMES = {
    "checkpoint": _l("Checkpoint"),
    "zone": _l("Cleaning zone"),
    "equipment": _l("Equipment"),
}
ROLE_NAMES = {
    "guard": _l("Guard"),
    "cleaner": _l("Cleaner"),
    "technician": _l("Technician"),
    "supervisor": _l("Supervisor"),
    "admin": _l("Admin"),
}
STATUS_NAMES = {
    "submitted": _l("Waiting for review"),
    "approved": _l("Approved"),
    "sent_back": _l("Sent back"),
}
SCHEDULE_KIND_NAMES = {
    "route": _l("Patrol route"),
    "cleaning": _l("Cleaning plan"),
    "equipment": _l("Equipment cycle"),
}
ROUND_STATUS_NAMES = {
    "open": _l("Due"),
    "done": _l("Done"),
    "late": _l("Done late"),
    "missed": _l("Missed"),
}
STEP_KIND_NAMES = {
    "tick": _l("Tick (OK / not OK)"),
    "reading": _l("Reading"),
    "text": _l("Short text"),
}

SEVERITY_NAMES = {
    "high": _l("High"),
    "medium": _l("Medium"),
    "low": _l("Low"),
}
DEFECT_KIND_NAMES = {
    "finding": _l("Found on a round"),
    "water_leak": _l("Water leak"),
    "fire_alarm": _l("Fire alarm"),
    "power_cut": _l("Power cut"),
    "lift_entrapment": _l("Lift entrapment"),
    "security": _l("Security"),
    "damage": _l("Damage"),
    "other": _l("Other"),
}
DEFECT_STATUS_NAMES = {
    "open": _l("Open"),
    "assigned": _l("Assigned"),
    "fixed": _l("Fixed, to verify"),
    "reopened": _l("Reopened"),
    "verified": _l("Verified"),
}
DEFECT_EVENT_NAMES = {
    "defect_raised": _l("Found on a round"),
    "defect_found_again": _l("Found again"),
    "incident_reported": _l("Reported"),
    "defect_assigned": _l("Assigned"),
    "defect_fixed": _l("Fixed"),
    "defect_verified": _l("Verified"),
    "defect_reopened": _l("Reopened"),
}


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def in_zone(value: datetime, timezone: str) -> datetime:
    return value.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))


def local(value: datetime | None, timezone: str = "Asia/Shanghai",
          fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (naive UTC) time shown in a site's timezone."""
    if value is None:
        return ""
    return in_zone(value, timezone).strftime(fmt)


def day_and_time(value: datetime, timezone: str) -> str:
    """A stored time as people write it in a sentence: "3 Nov 14:20", "11月3日 14:20"."""
    moment = in_zone(value, timezone)
    if is_chinese():
        return f"{moment.month}月{moment.day}日 {moment:%H:%M}"
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment:%H:%M}"


def window(opens: datetime, closes: datetime, timezone: str, dated: bool = False) -> str:
    """A due window as people say it: "08:00–10:00" (past midnight too: "20:00–06:00"),
    "all day" for one whole local day, the end's day as well for a window of a day or more;
    `dated` puts the day first."""
    start, end = in_zone(opens, timezone), in_zone(closes, timezone)
    if start.time() == end.time() == time(0) and end.date() == start.date() + timedelta(days=1):
        return f"{start:%m-%d} {_('all day')}" if dated else _("all day")
    first = f"{start:%m-%d %H:%M}" if dated else f"{start:%H:%M}"
    if closes - opens >= timedelta(days=1):
        return f"{first} – {end:%m-%d %H:%M}"
    return f"{first}–{end:%H:%M}"


def duration(seconds: float | None) -> str:
    """A span of time, rounded down to what matters: "40 s", "2 min 10 s", "1 h 5 min"."""
    return "" if seconds is None else unbroken(_duration(seconds))


def _duration(seconds: float) -> str:
    seconds = abs(round(seconds))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 60:
        # TRANSLATORS: a duration in seconds; Chinese: %(s)d秒
        return _("%(s)d s", s=seconds)
    if seconds < 3600:
        if seconds % 60:
            # TRANSLATORS: Chinese: %(m)d分%(s)d秒
            return _("%(m)d min %(s)d s", m=minutes, s=seconds % 60)
        # TRANSLATORS: Chinese: %(m)d分钟
        return _("%(m)d min", m=minutes)
    if seconds < 86400:
        if minutes % 60:
            # TRANSLATORS: Chinese: %(h)d小时%(m)d分
            return _("%(h)d h %(m)d min", h=hours, m=minutes % 60)
        # TRANSLATORS: Chinese: %(h)d小时
        return _("%(h)d h", h=hours)
    if hours % 24:
        # TRANSLATORS: Chinese: %(num)d天%(h)d小时
        return ngettext("%(num)d day %(h)d h", "%(num)d days %(h)d h", days, h=hours % 24)
    return ngettext("%(num)d day", "%(num)d days", days)


def distance(metres: float | None) -> str:
    """A distance on the ground: "850 m", "1.2 km"."""
    if metres is None:
        return ""
    return unbroken(_distance(metres))


def _distance(metres: float) -> str:
    if metres < 1000:
        # TRANSLATORS: metres; Chinese: %(m)d米
        return _("%(m)d m", m=round(metres))
    # TRANSLATORS: kilometres; Chinese: %(km)s公里
    return _("%(km)s km", km=f"{metres / 1000:.1f}".removesuffix(".0"))


def unbroken(quantity: str) -> str:
    """A number stays on the line of its unit."""
    return quantity.replace(" ", "\u00a0")


def flag_text(flag: dict) -> str:
    """Why a record is flagged (app/evidence.py), in a sentence for the supervisor."""
    code = flag.get("code")
    if code == "photo_reused":
        return photo_reused_text(flag)
    if code == "far_from_spot":
        return _("Sent %(distance)s from the spot (location accurate to %(accuracy)s)",
                 distance=distance(flag["m"]), accuracy=distance(flag["accuracy"]))
    if code == "too_fast":
        return _("Reached from %(place)s, %(distance)s away, in %(time)s: faster than walking",
                 place=pick(flag["from_zh"], flag["from_en"]), distance=distance(flag["m"]),
                 time=duration(flag["s"]))
    if code == "route_rushed":
        return _("Whole route %(route)s (%(n)d checkpoints) done in %(time)s",
                 route=pick(flag["route_zh"], flag["route_en"]), n=flag["n"],
                 time=duration(flag["s"]))
    if code == "clock_off":
        if flag["s"] >= 0:
            return _("The phone's clock was %(time)s ahead of the server's",
                     time=duration(flag["s"]))
        return _("The phone's clock was %(time)s behind the server's", time=duration(flag["s"]))
    if code == "sent_late":
        return _("Arrived %(time)s after it was filled in", time=duration(flag["s"]))
    return _("Flagged: %(code)s", code=code)


def photo_reused_text(flag: dict) -> str:
    # Where and when the other photo was sent is only told to people of that site.
    if not current_user.can_see_site(flag["site"]):
        return _("A photo matches one sent at another site")
    site = db.session.get(Site, flag["site"])
    when = day_and_time(datetime.fromisoformat(flag["at"]), site.timezone)
    place = pick(flag["spot_zh"], flag["spot_en"])
    if not place:
        return _("A photo matches one sent on %(when)s", when=when)
    return _("A photo matches one sent on %(when)s at %(place)s", when=when, place=place)


def number(value: float | None) -> str:
    """A reading without a trailing .0."""
    if value is None:
        return ""
    return f"{value:g}"


def init_app(app) -> None:
    app.jinja_env.filters.update(
        local=local,
        window=window,
        number=number,
        duration=duration,
        distance=distance,
        flag_text=flag_text,
        kind_name=lambda k: KIND_NAMES.get(k, k),
        role_name=lambda r: ROLE_NAMES.get(r, r),
        status_name=lambda s: STATUS_NAMES.get(s, s),
        step_kind_name=lambda s: STEP_KIND_NAMES.get(s, s),
        round_status_name=lambda s: ROUND_STATUS_NAMES.get(s, s),
        schedule_kind_name=lambda s: SCHEDULE_KIND_NAMES.get(s, s),
        severity_name=lambda s: SEVERITY_NAMES.get(s, s),
        defect_kind_name=lambda s: DEFECT_KIND_NAMES.get(s, s),
        defect_status_name=lambda s: DEFECT_STATUS_NAMES.get(s, s),
        defect_event_name=lambda s: DEFECT_EVENT_NAMES.get(s, s),
    )
