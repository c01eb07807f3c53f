"""Sites: the properties the admin manages."""
from flask import flash, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..alerts import redacted
from ..extensions import db
from ..models import Schedule, Site, audit
from ..web import redirect_to, render, role_required
from . import bp
from .common import update, visible_site
from .forms import COMMON_TIMEZONES, SiteForm


def for_audit(values: dict) -> dict:
    """A webhook URL often carries its key in the query: the audit trail keeps the host."""
    url = values.get("webhook_url")
    if isinstance(url, list):  # [old, new] from update()
        return values | {"webhook_url": [redacted(u) if u else "" for u in url]}
    if url:
        return values | {"webhook_url": redacted(url)}
    return values


def site_page(form: SiteForm, site: Site | None = None):
    return render("setup/site_form.html", form=form, site=site, timezones=COMMON_TIMEZONES,
                  status=422 if form.errors else 200)


@bp.get("/sites/")
@role_required("admin")
def sites():
    return render("setup/sites.html", sites=current_user.sites)


@bp.route("/sites/new", methods=["GET", "POST"])
@role_required("admin")
def site_new():
    form = SiteForm()
    if not form.validate_on_submit():
        return site_page(form)
    site = Site(**form.values())
    site.members.append(current_user._get_current_object())
    db.session.add(site)
    db.session.flush()
    audit("setup_site_new", user=current_user, site_id=site.id, target=f"site:{site.id}",
          **for_audit(form.values()))
    db.session.commit()
    flash(_("Site created. Add its SOPs and spots next."), "ok")
    return redirect_to(url_for("setup.index"))


def has_schedules(site: Site) -> bool:
    return db.session.scalar(select(Schedule.id).where(Schedule.site_id == site.id).limit(1)) \
        is not None


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
@role_required("admin")
def site_edit(site_id):
    site = visible_site(site_id)
    form = SiteForm(site)
    if not form.validate_on_submit():
        return site_page(form, site)
    if form.timezone.data != site.timezone and has_schedules(site):
        # Past rounds were due in the old zone's hours; moving them would rewrite history.
        form.timezone.errors.append(_("The time zone cannot change once the site has "
                                      "schedules."))
        return site_page(form, site)
    changed = update(site, form.values())
    if changed:
        audit("setup_site_edit", user=current_user, site_id=site.id, target=f"site:{site.id}",
              **for_audit(changed))
        db.session.commit()
    flash(_("Site saved."), "ok")
    return redirect_to(url_for("setup.sites"))
