"""The setup forms: one class per thing, used for both its new and its edit page."""
import math
from functools import lru_cache
from zoneinfo import available_timezones

import wtforms
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import (BooleanField, DateField, FloatField, PasswordField, SelectChoice,
                     SelectField, SelectMultipleField, StringField)
from wtforms.validators import (DataRequired, Length, NumberRange, Optional, Regexp,
                                ValidationError)
from wtforms.widgets import CheckboxInput, ListWidget

from .. import web
from ..alerts import valid_webhook
from ..extensions import db
from ..filters import KIND_NAMES, ROLE_NAMES, STEP_KIND_NAMES
from ..i18n import pick
from ..models import KINDS, ROLES, SEVERITIES, STEP_KINDS, Sop, Spot, User
from ..models.defects import DEFAULT_HOURS

# The demo data and existing ledgers store the Chinese word, so these are suggestions only.
CATEGORIES = ("给排水", "供配电", "电梯", "消防", "公共照明", "智能化")
COMMON_TIMEZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei",
                    "Asia/Urumqi", "Asia/Singapore", "UTC")
REQUIRED = _l("Fill this in.")


@lru_cache(maxsize=1)
def timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def strip(value):
    return value.strip() if isinstance(value, str) else value


def lower(value):
    return value.strip().lower() if isinstance(value, str) else value


def optional_int(value):
    return None if value in ("", None) else int(value)


def text(label, max_length: int, *validators, **kwargs) -> StringField:
    """A trimmed text field with a length limit."""
    return StringField(label, [*validators, Length(max=max_length, message=_l(
        "At most %(max)d characters."))], filters=[strip], **kwargs)


def finite(form, field):
    if field.data is not None and not math.isfinite(field.data):
        raise ValidationError(_l("Enter an ordinary number."))


class IntegerField(wtforms.IntegerField):
    """A whole number as people type one. Thousands of digits are refused like any other
    non-number: NumberRange would fail on them with an OverflowError (math.isnan)."""

    MAX_DIGITS = 15

    def process_formdata(self, valuelist):
        if valuelist and len(str(valuelist[0]).strip().lstrip("+-")) > self.MAX_DIGITS:
            valuelist = ["?"]  # refused with WTForms' own message, as any other non-number
        super().process_formdata(valuelist)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class Form(web.Form):
    def values(self) -> dict:
        """The entered values by field name, for the model and the audit trail."""
        return {name: value for name, value in self.data.items() if name != "csrf_token"}


def hours_field(label):
    return IntegerField(label, [Optional(), NumberRange(
        min=1, max=8760, message=_l("Between 1 and 8760 hours (a year)."))])


class SiteForm(Form):
    name_zh = text(_l("Name in Chinese"), 100, DataRequired(REQUIRED))
    name_en = text(_l("Name in English"), 100)
    timezone = text(_l("Timezone"), 50, DataRequired(REQUIRED), default="Asia/Shanghai")
    webhook_url = text(_l("Chat webhook for high-severity incidents"), 500)
    # Hours to respond to and to fix a defect, by severity: the form's names are
    # respond_<severity> and fix_<severity>, stored together in Site.deadline_hours.
    respond_high = hours_field(_l("High: hours to respond"))
    fix_high = hours_field(_l("High: hours to fix"))
    respond_medium = hours_field(_l("Medium: hours to respond"))
    fix_medium = hours_field(_l("Medium: hours to fix"))
    respond_low = hours_field(_l("Low: hours to respond"))
    fix_low = hours_field(_l("Low: hours to fix"))

    def __init__(self, site=None, **kwargs):
        self.hours = {}  # as they are now: what an empty hours field keeps
        for severity in SEVERITIES:
            respond, fix = site.hours(severity) if site else DEFAULT_HOURS[severity]
            self.hours |= {f"respond_{severity}": respond, f"fix_{severity}": fix}
        super().__init__(obj=site, **self.hours, **kwargs)

    def validate_timezone(self, field):
        if field.data not in timezones():
            raise ValidationError(_l("Not a known timezone. Use a name like Asia/Shanghai."))

    def validate_webhook_url(self, field):
        if field.data and not valid_webhook(field.data):
            raise ValidationError(_l("Use a full web address starting with https:// (or "
                                     "http://), without a user name or password in it."))

    def values(self) -> dict:
        data = {name: self.data[name] for name in ("name_zh", "name_en", "timezone",
                                                   "webhook_url")}
        hours = {name: self.data[name] or self.hours[name] for name in self.hours}
        data["deadline_hours"] = {severity: [hours[f"respond_{severity}"],
                                             hours[f"fix_{severity}"]]
                                  for severity in SEVERITIES}
        return data


class UserForm(Form):
    username = StringField(_l("Username"), [
        DataRequired(REQUIRED),
        Regexp(r"^[a-z0-9_.-]{3,40}$", message=_l(
            "3 to 40 characters: lowercase letters, digits, dot, dash or underscore.")),
    ], filters=[lower])
    name = text(_l("Full name"), 100)
    roles = MultiCheckboxField(_l("Roles"), [DataRequired(_l("Choose at least one role."))],
                               choices=[SelectChoice(role, ROLE_NAMES[role]) for role in ROLES])
    site_ids = MultiCheckboxField(_l("Sites"), [DataRequired(_l("Choose at least one site."))],
                                  coerce=int)
    language = SelectField(_l("Language"), choices=[
        SelectChoice("", _l("As the phone asks")), SelectChoice("zh_CN", "中文"),
        SelectChoice("en", "English")])
    password = PasswordField(_l("Initial password"), [
        DataRequired(REQUIRED), Length(min=8, max=200, message=_l("At least 8 characters."))])

    def __init__(self, user: User | None = None, **kwargs):
        super().__init__(obj=user, **kwargs)
        self.user = user
        self.site_ids.choices = [SelectChoice(s.id, pick(s.name_zh, s.name_en))
                                for s in current_user.sites]
        if user is not None:
            del self.password  # set with its own form: PasswordForm

    def validate_username(self, field):
        other = User.by_username(field.data)
        if other is not None and other is not self.user:
            raise ValidationError(_l("This username is taken."))

    def validate_roles(self, field):
        if self.user is not None and self.user.id == current_user.id and "admin" not in field.data:
            raise ValidationError(_l("You cannot take the admin role from yourself."))


class PasswordForm(Form):
    new_password = PasswordField(_l("New password"), [
        DataRequired(REQUIRED), Length(min=8, max=200, message=_l("At least 8 characters."))])


class SpotForm(Form):
    kind = SelectField(_l("Kind"), choices=[SelectChoice(kind, KIND_NAMES[kind]) for kind in KINDS])
    code = StringField(_l("Code"), [
        DataRequired(REQUIRED),
        Regexp(r"^[A-Za-z0-9-]{1,30}$", message=_l("Up to 30 letters, digits or dashes.")),
    ], filters=[strip])
    name_zh = text(_l("Name in Chinese"), 100, DataRequired(REQUIRED))
    name_en = text(_l("Name in English"), 100)
    location = text(_l("Location"), 200)
    sop_id = SelectField(_l("SOP"), coerce=optional_int)
    category = text(_l("Category"), 30)
    model = text(_l("Model"), 100)
    maker = text(_l("Maker"), 100)
    installed_on = DateField(_l("Installed on"), [Optional()])
    serial = text(_l("Serial number"), 100)
    active = BooleanField(_l("Active: its label can be scanned"), default=True)
    # Where the label is; the range checks are in validate_*, so a typo gets one message.
    latitude = FloatField(_l("Latitude"), [Optional()])
    longitude = FloatField(_l("Longitude"), [Optional()])
    radius = IntegerField(_l("Radius in metres"), [Optional()])

    LEDGER = ("category", "model", "maker", "installed_on", "serial")

    def __init__(self, site, spot: Spot | None = None, **kwargs):
        super().__init__(obj=spot, **kwargs)
        self.site, self.spot = site, spot
        sops = db.session.scalars(select(Sop).where(Sop.site_id == site.id).order_by(Sop.id))
        self.sop_id.choices = [SelectChoice("", _l("No SOP yet")),
                               *(SelectChoice(sop.id, sop.name) for sop in sops)]

    def validate_code(self, field):
        clash = db.session.scalar(
            select(Spot.id).where(Spot.site_id == self.site.id, Spot.code == field.data))
        if clash is not None and (self.spot is None or clash != self.spot.id):
            raise ValidationError(_l("Another spot of this site has this code."))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        latitude, longitude = self.latitude, self.longitude
        if (latitude.data is None) != (longitude.data is None) and \
                not latitude.errors and not longitude.errors:
            # A latitude without its longitude is no place: said beside the empty one.
            empty = latitude if latitude.data is None else longitude
            empty.errors.append(_l("Enter both latitude and longitude, or neither."))
            return False
        return valid

    def validate_latitude(self, field):
        if not in_range(field.data, 90):
            raise ValidationError(_l("Decimal degrees between -90 and 90, like 30.2741."))

    def validate_longitude(self, field):
        if not in_range(field.data, 180):
            raise ValidationError(_l("Decimal degrees between -180 and 180, like 120.1551."))

    def validate_radius(self, field):
        if field.data is not None and not 1 <= field.data <= 5000:
            raise ValidationError(_l("Between 1 and 5000 metres."))

    def values(self) -> dict:
        values = super().values()
        if values["kind"] != "equipment":
            values.update(category="", model="", maker="", installed_on=None, serial="")
        return values


def in_range(degrees: float | None, limit: int) -> bool:
    return degrees is None or (math.isfinite(degrees) and -limit <= degrees <= limit)


class SopForm(Form):
    name_zh = text(_l("Name in Chinese"), 100, DataRequired(REQUIRED))
    name_en = text(_l("Name in English"), 100)


class StepForm(Form):
    kind = SelectField(_l("Kind of step"), default="tick",
                       choices=[SelectChoice(kind, STEP_KIND_NAMES[kind]) for kind in STEP_KINDS])
    label_zh = text(_l("Step in Chinese"), 200, DataRequired(REQUIRED))
    label_en = text(_l("Step in English"), 200)
    unit = text(_l("Unit"), 20)
    min_value = FloatField(_l("Lowest allowed"), [Optional(), finite])
    max_value = FloatField(_l("Highest allowed"), [Optional(), finite])
    photo_required = BooleanField(_l("A photo is required"))

    def validate_max_value(self, field):
        low = self.min_value.data
        if self.kind.data == "reading" and None not in (low, field.data) and field.data < low:
            raise ValidationError(_l("Must not be lower than the lowest allowed value."))

    def values(self) -> dict:
        values = super().values()
        if values["kind"] != "reading":
            values.update(unit="", min_value=None, max_value=None)
        return values
