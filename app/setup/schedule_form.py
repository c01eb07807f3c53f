"""The schedule form (new and edit), and schedules and their timings in words."""
import re
from datetime import time

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, TimeField
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional, ValidationError

from ..extensions import db
from ..filters import ROLE_NAMES
from ..models import FIELD_ROLES, SCHEDULE_KINDS, Sop, Spot, User
from ..filters import SCHEDULE_KIND_NAMES
from ..timing import KINDS as TIMING_KINDS
from ..timing import Timing, check
from .forms import REQUIRED, Form, IntegerField, MultiCheckboxField, optional_int, text

TIMING_NAMES = {
    "interval": _l("Every N minutes between two times"),
    "spread": _l("N times between two times"),
    "times": _l("At set times of day"),
    "daily": _l("Daily"),
    "weekly": _l("Weekly"),
    "monthly": _l("Monthly"),
    "quarterly": _l("Quarterly"),
    "yearly": _l("Yearly"),
}
WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
            _l("Saturday"), _l("Sunday"))
WEEKDAYS_SHORT = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))

# What a new schedule of each kind starts with, and the one kind of spot it may visit.
DEFAULTS = {
    "route": {"role": "guard", "timing": "interval"},
    "cleaning": {"role": "cleaner", "timing": "spread"},
    "equipment": {"role": "technician", "timing": "daily"},
}
STOP_KINDS = {"route": "checkpoint", "cleaning": "zone", "equipment": "equipment"}

TIMING_FIELDS = ("span_start", "span_end", "every", "count", "times", "length", "weekdays",
                 "day", "month")
# The fields each timing reads; the others are emptied so the row holds no stale rules.
USES = {
    "interval": {"span_start", "span_end", "every", "weekdays"},
    "spread": {"span_start", "span_end", "count", "weekdays"},
    "times": {"times", "length", "weekdays"},
    "daily": {"weekdays"},
    "weekly": {"weekdays"},
    "monthly": {"day"},
    "quarterly": {"month", "day"},
    "yearly": {"month", "day"},
}
COLUMNS = ("kind", "name_zh", "name_en", "role", "sop_id", "grace", "timing", *TIMING_FIELDS)

BETWEEN_5_AND_1440 = _l("From 5 to 1440 minutes.")
# timing.check() codes: the field they belong beside, and what to tell the admin.
PROBLEMS = {
    "unknown_kind": ("timing", _l("Choose how often it is due.")),
    "weekday_range": ("weekdays", _l("Choose weekdays from the list.")),
    "every_required": ("every", _l("Enter the minutes between rounds.")),
    "every_range": ("every", BETWEEN_5_AND_1440),
    "count_required": ("count", _l("Enter how many times.")),
    "count_range": ("count", _l("From 1 to 48 times.")),
    "times_required": ("times", _l("Enter at least one time, like 08:00 14:00.")),
    "length_required": ("length", _l("Enter how long each window stays open, in minutes.")),
    "length_range": ("length", BETWEEN_5_AND_1440),
    "weekly_needs_one_weekday": ("weekdays", _l("Choose exactly one weekday.")),
    "day_required": ("day", _l("Enter the day of the month.")),
    "day_range": ("day", _l("From 1 to 31; in shorter months the last day counts.")),
    "month_required": ("month", _l("Enter the month.")),
    "month_range": ("month", _l("From 1 to 12.")),
}
QUARTER_MONTH_RANGE = _l("From 1 to 3: the month within each quarter.")
TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3])[:：]([0-5]\d)$")  # a Chinese keyboard types "："


def hhmm(value) -> str:
    return value.strftime("%H:%M") if value is not None else ""


def listed(items) -> str:
    # TRANSLATORS: what stands between the items of a short list ("09:00, 15:00");
    # Chinese: the enumeration comma 、 with no space.
    return _(", ").join(items)


def timing_text(timing: Timing) -> str:
    """The timing as an admin would say it: "Every 120 min, 20:00–06:00"."""
    kind = timing.kind
    if check(timing):  # a row written around this form; name the kind rather than fail
        return str(TIMING_NAMES.get(kind, kind))
    span = {"start": hhmm(timing.start), "end": hhmm(timing.end)}
    if kind == "interval":
        words = _("Every %(every)d min, %(start)s–%(end)s", every=timing.every, **span)
    elif kind == "spread":
        words = ngettext("%(num)d time, %(start)s–%(end)s", "%(num)d times, %(start)s–%(end)s",
                         timing.count, **span)
    elif kind == "times":
        words = _("At %(times)s for %(length)d min",
                  times=listed(hhmm(at) for at in timing.times), length=timing.length)
    elif kind == "daily":
        words = _("Daily")
    elif kind == "weekly":
        return _("Weekly on %(weekday)s", weekday=WEEKDAYS[min(timing.weekdays)])
    elif kind == "monthly":
        return _("Monthly on day %(day)d", day=timing.day)
    elif kind == "quarterly":
        return _("Quarterly, month %(month)d day %(day)d", month=timing.month, day=timing.day)
    else:
        return _("Yearly on %(date)s", date=f"{timing.month:02d}-{timing.day:02d}")
    if timing.weekdays:
        days = listed(str(WEEKDAYS_SHORT[day]) for day in sorted(timing.weekdays))
        words = _("%(timing)s; %(days)s only", timing=words, days=days)
    return words


def site_users(site) -> list[User]:
    """The site's people who could be assigned: those with a field role."""
    return sorted((user for user in site.members if user.roles & set(FIELD_ROLES)),
                  key=lambda user: user.username)


class ScheduleForm(Form):
    kind = SelectField(_l("Kind"), choices=[
        SelectChoice(kind, SCHEDULE_KIND_NAMES[kind]) for kind in SCHEDULE_KINDS])
    name_zh = text(_l("Name in Chinese"), 100, DataRequired(REQUIRED))
    name_en = text(_l("Name in English"), 100)
    role = SelectField(_l("Role"), choices=[
        SelectChoice(role, ROLE_NAMES[role]) for role in FIELD_ROLES])
    sop_id = SelectField(_l("SOP that counts"), coerce=optional_int)
    grace = IntegerField(_l("Grace period (minutes)"), [
        InputRequired(REQUIRED),
        NumberRange(0, 1440, message=_l("From 0 to 1440 minutes."))], default=30)
    timing = SelectField(_l("How often"), choices=[
        SelectChoice(kind, TIMING_NAMES[kind]) for kind in TIMING_KINDS])
    span_start = TimeField(_l("From"), [Optional()], format=["%H:%M", "%H:%M:%S"])
    span_end = TimeField(_l("Until"), [Optional()], format=["%H:%M", "%H:%M:%S"])
    every = IntegerField(_l("Every (minutes)"), [Optional()])
    count = IntegerField(_l("How many times"), [Optional()])
    times = text(_l("Times of day"), 200)
    length = IntegerField(_l("Each window stays open (minutes)"), [Optional()])
    weekdays = MultiCheckboxField(_l("Weekdays"), coerce=int, choices=[
        SelectChoice(day, name) for day, name in enumerate(WEEKDAYS_SHORT)])
    day = IntegerField(_l("Day of the month"), [Optional()])
    month = IntegerField(_l("Month"), [Optional()])
    stops = text(_l("Spots, in walking order"), 1000)
    assignees = MultiCheckboxField(_l("Assigned people"), coerce=int)

    def __init__(self, site, **kwargs):
        super().__init__(**kwargs)
        self.site = site
        self.stop_spots: list[Spot] = []
        self.assignee_users: list[User] = []
        self.times_list: list[str] = []
        sops = db.session.scalars(select(Sop).where(Sop.site_id == site.id).order_by(Sop.id))
        self.sop_id.choices = [SelectChoice("", _l("Any: every record at the spot counts")),
                               *(SelectChoice(sop.id, sop.name) for sop in sops)]
        self.people = {user.id: user for user in site_users(site)}
        self.assignees.choices = [SelectChoice(user.id, self.person(user))
                                  for user in self.people.values()]

    @staticmethod
    def person(user: User) -> str:
        roles = " · ".join(str(ROLE_NAMES[role]) for role in FIELD_ROLES if role in user.roles)
        return f"{user.display_name} ({roles})"

    @staticmethod
    def timings_using(name: str) -> str:
        """The "how often" kinds that read a field, for the page to show it only for them."""
        return " ".join(kind for kind, used in USES.items() if name in used)

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        uses = USES.get(self.timing.data, set())
        for name in TIMING_FIELDS:
            if name not in uses:  # its value is dropped, so its errors do not matter
                getattr(self, name).errors = []
        if not self.timing.errors:
            for code in check(self.to_timing()):
                name, message = PROBLEMS.get(code, ("timing", _l("This timing is not possible.")))
                if code == "month_range" and self.timing.data == "quarterly":
                    message = QUARTER_MONTH_RANGE
                if code == "start_end_required":
                    for field in (self.span_start, self.span_end):
                        if field.data is None and not field.errors:
                            field.errors.append(_("Enter a time, like 20:00."))
                    continue
                field = getattr(self, name)
                if not field.errors:
                    field.errors.append(str(message))
        return not self.errors

    def validate_times(self, field):
        if self.timing.data != "times":
            return
        found = set()
        for token in re.split(r"[\s,，、;]+", field.data or ""):
            if not token:
                continue
            match = TIME_OF_DAY.match(token)
            if match is None:
                raise ValidationError(_("%(value)s is not a time of day. Write times like "
                                        "08:00 14:00.", value=token))
            found.add(f"{int(match[1]):02d}:{match[2]}")
        self.times_list = sorted(found)

    def validate_stops(self, field):
        kind = STOP_KINDS.get(self.kind.data)
        codes = (field.data or "").replace(",", " ").replace("，", " ").split()
        if not codes:
            raise ValidationError({
                "checkpoint": _("List the checkpoints in walking order, like CP-01 CP-03."),
                "zone": _("Enter the code of the cleaning zone."),
                "equipment": _("Enter the code of the equipment."),
            }.get(kind, str(REQUIRED)))
        spots = {spot.code: spot for spot in db.session.scalars(select(Spot).where(
            Spot.site_id == self.site.id, Spot.code.in_(codes), Spot.active.is_(True)))}
        unknown = [code for code in codes if code not in spots]
        if unknown:
            raise ValidationError(ngettext(
                "No active spot of this site has the code %(codes)s.",
                "No active spots of this site have the codes %(codes)s.",
                len(unknown), codes=", ".join(unknown)))
        twice = sorted({code for code in codes if codes.count(code) > 1})
        if twice:
            raise ValidationError(_("Listed more than once: %(codes)s.", codes=", ".join(twice)))
        wrong = [code for code in codes if kind and spots[code].kind != kind]
        if wrong:
            raise ValidationError({
                "checkpoint": _("Not checkpoints: %(codes)s. A patrol route walks checkpoints "
                                "only.", codes=", ".join(wrong)),
                "zone": _("Not a cleaning zone: %(codes)s. A cleaning plan is for one zone.",
                          codes=", ".join(wrong)),
                "equipment": _("Not equipment: %(codes)s. An equipment cycle is for one piece "
                               "of equipment.", codes=", ".join(wrong)),
            }[kind])
        if kind in ("zone", "equipment") and len(codes) > 1:
            raise ValidationError(_("A cleaning plan covers exactly one zone.") if kind == "zone"
                                  else _("An equipment cycle covers exactly one piece of "
                                         "equipment."))
        self.stop_spots = [spots[code] for code in codes]

    def validate_assignees(self, field):
        users = [self.people[user_id] for user_id in field.data or () if user_id in self.people]
        role = self.role.data
        others = [user.display_name for user in users if role not in user.roles]
        if others and role in ROLE_NAMES:
            raise ValidationError(ngettext(
                "%(names)s does not have the role %(role)s.",
                "%(names)s do not have the role %(role)s.",
                len(others), names=", ".join(others), role=ROLE_NAMES[role]))
        self.assignee_users = users

    def values(self) -> dict:
        """The schedule's columns as the form sets them."""
        values = {name: getattr(self, name).data for name in COLUMNS}
        values["weekdays"] = " ".join(str(day) for day in sorted(set(values["weekdays"] or ())))
        values["times"] = " ".join(self.times_list)
        uses = USES.get(values["timing"], set())
        for name in TIMING_FIELDS:
            if name not in uses:
                values[name] = "" if name in ("times", "weekdays") else None
        return values

    def to_timing(self) -> Timing:
        values = self.values()
        return Timing(
            kind=values["timing"], start=values["span_start"], end=values["span_end"],
            every=values["every"], count=values["count"], length=values["length"],
            day=values["day"], month=values["month"],
            times=tuple(time.fromisoformat(at) for at in values["times"].split()),
            weekdays=frozenset(int(day) for day in values["weekdays"].split()),
        )

    def details(self) -> dict:
        """Everything the form sets, stops and people by code and username: for the audit trail."""
        return {**self.values(), "stops": [spot.code for spot in self.stop_spots],
                "assignees": sorted(user.username for user in self.assignee_users)}

    def changes(self, schedule) -> dict:
        """What saving would change in the schedule, as {name: [old, new]}."""
        before = {**{name: getattr(schedule, name) for name in COLUMNS},
                  "stops": [stop.spot.code for stop in schedule.stops],
                  "assignees": sorted(user.username for user in schedule.assignees)}
        return {name: [before[name], value] for name, value in self.details().items()
                if before[name] != value}


def initial(schedule) -> dict:
    """A stored schedule as form data."""
    data = {name: getattr(schedule, name) for name in COLUMNS}
    data["weekdays"] = [int(day) for day in schedule.weekdays.split()]
    data["stops"] = " ".join(stop.spot.code for stop in schedule.stops)
    data["assignees"] = [user.id for user in schedule.assignees]
    return data

