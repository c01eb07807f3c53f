"""Reporting an incident: a worker says what happened where, with photos; a serious one
alerts the site's supervisors on every page and in their chat group."""
from flask import abort, flash, request, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import alerts
from ..extensions import db
from ..field.submission import KEY_PATTERN, NOTE_MAX, new_key
from ..filters import DEFECT_KIND_NAMES, SEVERITY_NAMES, local
from ..models import INCIDENT_KINDS, SEVERITIES, Defect, Site, Spot, audit
from ..models.base import utcnow
from ..models.defects import deadlines
from ..web import form_id, render, saved
from . import bp, link_to, take_photos, waiting_photos


def incident_page(sites, spot, values, errors, key, status=200):
    return render("defects/incident.html", sites=sites, spot=spot, values=values, errors=errors,
                  key=key, photos=waiting_photos(key), kinds=INCIDENT_KINDS,
                  severities=SEVERITIES, status=status)


def incident_place(source) -> tuple[Spot | None, list[Site]]:
    """The spot the incident is reported at, if any, and the sites to choose from."""
    spot = db.session.get(Spot, form_id(source.get("spot")) or 0)
    if spot is not None and not current_user.can_see_site(spot.site_id):
        abort(404)
    sites = [spot.site] if spot else current_user.sites
    if not sites:
        abort(404)
    return spot, sites


def both_languages(names: dict, key: str) -> str:
    """A word for the chat group in Chinese and English, whatever the reporter's language."""
    with force_locale("zh_CN"):
        zh = str(names[key])
    with force_locale("en"):
        en = str(names[key])
    return f"{zh} {en}"


def alert_message(defect: Defect) -> dict:
    """The chat message: what, where, when, and a link that needs a login. No photos."""
    site = defect.site
    place = f"{defect.spot.name_zh} {defect.spot.code}" if defect.spot else ""
    kind = both_languages(DEFECT_KIND_NAMES, defect.kind)
    severity = both_languages(SEVERITY_NAMES, defect.severity)
    when = local(defect.created_at, site.timezone)
    lines = [f"【{severity}】{kind}", f"{site.name_zh} {place}".strip(), when, defect.note,
             link_to(defect)]
    return {"msgtype": "text", "text": {"content": "\n".join(line for line in lines if line)},
            "event": "incident", "id": defect.id, "site": site.name_zh, "kind": defect.kind,
            "severity": defect.severity, "spot": defect.spot.code if defect.spot else None,
            "reported_at": when, "reported_by": defect.reported_by.display_name,
            "note": defect.note, "link": link_to(defect)}


@bp.route("/incidents/new", methods=["GET", "POST"])
@login_required
def incident():
    spot, sites = incident_place(request.form if request.method == "POST" else request.args)
    if request.method == "GET":
        return incident_page(sites, spot, {"site": sites[0].id}, {}, new_key())

    key = request.form.get("submission_key", "")
    if not KEY_PATTERN.match(key):
        abort(400)
    done = db.session.scalar(select(Defect).where(Defect.submission_key == key))
    if done is not None:  # sent twice: the first one counts
        return saved(url_for("defects.defect", defect_id=done.id))
    site = next((s for s in sites if s.id == form_id(request.form.get("site"))), None)
    values = {name: request.form.get(name, "").strip() for name in ("kind", "severity", "note")}
    values["site"] = site.id if site else None
    errors = {}
    if site is None:
        errors["site"] = _("Choose the site.")
    if values["kind"] not in INCIDENT_KINDS:
        errors["kind"] = _("Choose what happened.")
    if values["severity"] not in SEVERITIES:
        errors["severity"] = _("Choose how serious it is.")
    if len(values["note"]) > NOTE_MAX:
        errors["note"] = _("Keep the note under %(n)d characters.", n=NOTE_MAX)
    taken = take_photos(site.id if site else sites[0].id, key, errors)
    if errors:
        db.session.commit()  # keep the photos for the corrected form
        return incident_page(sites, spot, values, errors, key, status=422)

    now = utcnow()
    defect = Defect(site_id=site.id, spot_id=spot.id if spot else None, kind=values["kind"],
                    severity=values["severity"], note=values["note"], status="open",
                    submission_key=key, reported_by_id=current_user.id, created_at=now,
                    **deadlines(site, values["severity"], now))
    db.session.add(defect)
    try:
        db.session.flush()
    except IntegrityError:  # the same form sent twice at once: the other request saved it
        db.session.rollback()
        done = db.session.scalar(select(Defect).where(Defect.submission_key == key))
        if done is None:
            raise
        return saved(url_for("defects.defect", defect_id=done.id))
    for photo in taken:  # the site may have been changed after a refused first try
        photo.defect_id, photo.stage, photo.site_id = defect.id, "before", site.id
    audit("incident_reported", user=current_user, site_id=site.id, target=f"defect:{defect.id}",
          kind=defect.kind, severity=defect.severity, photos=len(taken))
    queued = defect.severity == "high" and alerts.queue(defect, site, alert_message(defect), now)
    db.session.commit()
    if queued:  # only this alert: older ones are the timer's (flask send-alerts)
        alerts.deliver_due(now, only=queued.id)
    flash(_("Reported. The site's supervisors see it now.") if defect.severity == "high"
          else _("Reported."), "ok")
    return saved(url_for("defects.defect", defect_id=defect.id))
