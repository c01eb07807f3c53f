"""Spots of a site, their QR labels: one PNG per spot and a printable A4 sheet."""
from io import BytesIO

from flask import flash, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import labels
from ..evidence import DEFAULT_RADIUS
from ..extensions import db
from ..models import KINDS, Site, Spot, audit
from ..web import get_visible, redirect_to, render, role_required
from . import bp
from .common import commit_unique, update, visible_site
from .forms import CATEGORIES, SpotForm


def kind_arg() -> str | None:
    kind = request.args.get("kind")
    return kind if kind in KINDS else None


def scan_url(spot: Spot) -> str:
    """What the QR code holds: the absolute address of the spot's scan page."""
    return url_for("field.scan", token=spot.token, _external=True)


def site_spots(site: Site, kind: str | None, active_only=False) -> list[Spot]:
    query = select(Spot).where(Spot.site_id == site.id)
    if kind:
        query = query.where(Spot.kind == kind)
    if active_only:
        query = query.where(Spot.active.is_(True))
    rows = db.session.scalars(query.order_by(Spot.code)).all()
    return sorted(rows, key=lambda spot: KINDS.index(spot.kind) if spot.kind in KINDS else 99)


def spot_page(form: SpotForm, site: Site, spot: Spot | None = None):
    return render("setup/spot_form.html", form=form, site=site, spot=spot,
                  categories=CATEGORIES, default_radius=DEFAULT_RADIUS,
                  status=422 if form.errors else 200)


def save(form: SpotForm, spot: Spot, action: str, detail: dict) -> bool:
    return commit_unique(spot, "spot", form.code, _("Another spot of this site has this code."),
                         action, site_id=spot.site_id, **detail)


@bp.get("/sites/<int:site_id>/spots")
@role_required("admin")
def spots(site_id):
    site = visible_site(site_id)
    kind = kind_arg()
    return render("setup/spots.html", site=site, kind=kind, kinds=KINDS,
                  spots=site_spots(site, kind))


@bp.route("/sites/<int:site_id>/spots/new", methods=["GET", "POST"])
@role_required("admin")
def spot_new(site_id):
    site = visible_site(site_id)
    form = SpotForm(site, kind=kind_arg() or "checkpoint")
    if not form.validate_on_submit():
        return spot_page(form, site)
    spot = Spot(site_id=site.id, **form.values())
    db.session.add(spot)
    if not save(form, spot, "setup_spot_new", form.values()):
        return spot_page(form, site)
    flash(_("Spot %(code)s created. Print its label from the label sheet.", code=spot.code), "ok")
    return redirect_to(url_for("setup.spots", site_id=site.id, kind=spot.kind))


@bp.route("/spots/<int:spot_id>/edit", methods=["GET", "POST"])
@role_required("admin")
def spot_edit(spot_id):
    spot = get_visible(Spot, spot_id)
    site = spot.site
    form = SpotForm(site, spot)
    if not form.validate_on_submit():
        return spot_page(form, site, spot)
    changed = update(spot, form.values())
    if changed and not save(form, spot, "setup_spot_edit", changed):
        return spot_page(form, site, get_visible(Spot, spot_id))
    flash(_("Spot %(code)s saved.", code=spot.code), "ok")
    return redirect_to(url_for("setup.spots", site_id=site.id, kind=spot.kind))


@bp.post("/spots/<int:spot_id>/reissue")
@role_required("admin")
def spot_reissue(spot_id):
    spot = get_visible(Spot, spot_id)
    spot.reissue_label()
    audit("setup_spot_reissue", user=current_user, site_id=spot.site_id,
          target=f"spot:{spot.id}", code=spot.code)
    db.session.commit()
    flash(_("New label issued for %(code)s. The old label no longer works: print and put up "
            "the new one.", code=spot.code), "ok")
    return redirect_to(url_for("setup.spot_edit", spot_id=spot.id))


@bp.get("/spots/<int:spot_id>/label.png")
@role_required("admin")
def label_png(spot_id):
    spot = get_visible(Spot, spot_id)
    caption = " ".join(name for name in (spot.name_zh, spot.name_en) if name)
    png = labels.label_png(scan_url(spot), spot.code, caption)
    response = send_file(BytesIO(png), mimetype="image/png", as_attachment=True,
                         download_name=f"label-{spot.code}.png", max_age=0)
    response.cache_control.private = True  # a re-issued label must not come from a cache
    response.cache_control.no_store = True
    return response


@bp.get("/sites/<int:site_id>/labels")
@role_required("admin")
def label_sheet(site_id):
    site = visible_site(site_id)
    kind = kind_arg()
    sheet = [(spot, labels.qr_svg(scan_url(spot), _("QR code")))
             for spot in site_spots(site, kind, active_only=True)]
    return render("setup/labels.html", site=site, kind=kind, kinds=KINDS, sheet=sheet)
