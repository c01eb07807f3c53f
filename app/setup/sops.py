"""SOPs of a site and the step editor; every edit respects the versions records were made with."""
from flask import abort, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..extensions import db
from ..models import Sop, Spot, Step, audit
from ..web import get_visible, redirect_to, render, role_required, wants_fragment
from . import bp, sop_editing
from .common import update, visible_site
from .forms import SopForm, StepForm


def editor(sop: Sop, form: StepForm | None = None, status=200, stale=False):
    """The editor page, or only its steps block for htmx."""
    return render("setup/sop.html", block="steps", sop=sop, version=sop.current,
                  used=sop.current.record_count(), form=form or StepForm(formdata=None),
                  stale=stale, status=status)


def after_change(sop: Sop):
    if wants_fragment():
        return editor(sop)
    return redirect_to(url_for("setup.sop_editor", sop_id=sop.id))


def stale(sop: Sop):
    """The page showed an older version than the current one: show the current steps again."""
    if not wants_fragment():
        return editor(sop, stale=True, status=409)
    # htmx swaps no 409 (see base.html), and an edit form asked for the list to come back.
    body, status = editor(sop, stale=True)
    return body, status, {"HX-Retarget": "#steps", "HX-Reswap": "outerHTML"}


def find_step(sop: Sop, step_id: int) -> Step | None:
    """The step in the current version; None when it belongs to an older one of this SOP."""
    step = db.session.get(Step, step_id)
    if step is None or step.version.sop_id != sop.id:
        abort(404)
    return step if step.version_id == sop.current.id else None


def audit_step(sop: Sop, action: str, position: int, **detail) -> None:
    audit(action, user=current_user, site_id=sop.site_id, target=f"sop:{sop.id}",
          version=sop.current.number, position=position, **detail)


@bp.get("/sites/<int:site_id>/sops")
@role_required("admin")
def sops(site_id):
    site = visible_site(site_id)
    rows = db.session.scalars(select(Sop).where(Sop.site_id == site.id).order_by(Sop.id)).all()
    spot_counts = dict(db.session.execute(
        select(Spot.sop_id, func.count()).where(Spot.site_id == site.id).group_by(Spot.sop_id)
    ).all())
    return render("setup/sops.html", site=site, sops=rows, spot_counts=spot_counts)


@bp.route("/sites/<int:site_id>/sops/new", methods=["GET", "POST"])
@role_required("admin")
def sop_new(site_id):
    site = visible_site(site_id)
    form = SopForm()
    if not form.validate_on_submit():
        return render("setup/sop_form.html", form=form, site=site, sop=None,
                      status=422 if form.errors else 200)
    sop = Sop(site_id=site.id, **form.values())
    sop.editable_version()  # version 1, without steps yet
    db.session.add(sop)
    db.session.flush()
    audit("setup_sop_new", user=current_user, site_id=site.id, target=f"sop:{sop.id}",
          **form.values())
    db.session.commit()
    return redirect_to(url_for("setup.sop_editor", sop_id=sop.id))


@bp.route("/sops/<int:sop_id>/edit", methods=["GET", "POST"])
@role_required("admin")
def sop_edit(sop_id):
    sop = get_visible(Sop, sop_id)
    form = SopForm(obj=sop)
    if not form.validate_on_submit():
        return render("setup/sop_form.html", form=form, site=None, sop=sop,
                      status=422 if form.errors else 200)
    changed = update(sop, form.values())
    if changed:
        audit("setup_sop_edit", user=current_user, site_id=sop.site_id, target=f"sop:{sop.id}",
              **changed)
        db.session.commit()
    flash(_("SOP name saved."), "ok")
    return redirect_to(url_for("setup.sop_editor", sop_id=sop.id))


@bp.get("/sops/<int:sop_id>")
@role_required("admin")
def sop_editor(sop_id):
    return editor(get_visible(Sop, sop_id))


@bp.post("/sops/<int:sop_id>/steps")
@role_required("admin")
def step_add(sop_id):
    sop = get_visible(Sop, sop_id)
    form = StepForm()
    if not form.validate_on_submit():
        return editor(sop, form, status=422)
    step = sop_editing.add_step(sop, form.values())
    audit_step(sop, "setup_step_add", step.position, **form.values())
    db.session.commit()
    return after_change(sop)


@bp.route("/sops/<int:sop_id>/steps/<int:step_id>/edit", methods=["GET", "POST"])
@role_required("admin")
def step_edit(sop_id, step_id):
    sop = get_visible(Sop, sop_id)
    step = find_step(sop, step_id)
    if step is None:
        return stale(sop)
    form = StepForm(obj=step, prefix="edit")
    if form.validate_on_submit():
        position = step.position
        changed = sop_editing.change_step(sop, position, form.values())
        if changed:
            audit_step(sop, "setup_step_edit", position, **changed)
            db.session.commit()
        return after_change(sop)
    body, status = render("setup/step_form.html", block="step_form", sop=sop, step=step,
                          form=form, status=422 if form.errors else 200)
    if status == 422 and wants_fragment():
        # The form was posted from inside the steps list: put it back where it was.
        return body, status, {"HX-Retarget": "#step-edit", "HX-Reswap": "outerHTML"}
    return body, status


def move(sop_id: int, step_id: int, delta: int):
    sop = get_visible(Sop, sop_id)
    step = find_step(sop, step_id)
    if step is None:
        return stale(sop)
    position = step.position
    if sop_editing.move_step(sop, position, delta):
        audit_step(sop, "setup_step_move", position, to=position + delta)
        db.session.commit()
    return after_change(sop)


@bp.post("/sops/<int:sop_id>/steps/<int:step_id>/up")
@role_required("admin")
def step_up(sop_id, step_id):
    return move(sop_id, step_id, -1)


@bp.post("/sops/<int:sop_id>/steps/<int:step_id>/down")
@role_required("admin")
def step_down(sop_id, step_id):
    return move(sop_id, step_id, +1)


@bp.post("/sops/<int:sop_id>/steps/<int:step_id>/remove")
@role_required("admin")
def step_remove(sop_id, step_id):
    sop = get_visible(Sop, sop_id)
    step = find_step(sop, step_id)
    if step is None:
        return stale(sop)
    position, label = step.position, step.label_zh
    sop_editing.remove_step(sop, position)
    audit_step(sop, "setup_step_remove", position, label_zh=label)
    db.session.commit()
    return after_change(sop)
