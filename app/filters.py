"""Jinja filters: local times and the words for kinds, roles and statuses."""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

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


def local(value: datetime | None, timezone: str = "Asia/Shanghai",
          fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (naive UTC) time shown in a site's timezone."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).strftime(fmt)


def number(value: float | None) -> str:
    """A reading without a trailing .0."""
    if value is None:
        return ""
    return f"{value:g}"


def init_app(app) -> None:
    app.jinja_env.filters.update(
        local=local,
        number=number,
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
