"""`flask bench-data`: the made-up dataset the speed benches measure on, built small here."""
from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import Record, Scan, Site, Spot, StepResult, Step, User

from .conftest import empty_tables, login
from .helpers import answers, count, html

PASSWORD = "bench1234"


def bench_data(app, *options):
    return app.test_cli_runner().invoke(
        args=["bench-data", "--sites", "2", "--records", "300", *options])


def test_fills_an_empty_database_that_the_app_then_works_on(app):
    empty_tables()  # the fixture loaded the demo: bench data only goes into an empty database
    result = bench_data(app)
    assert result.exit_code == 0, result.output
    assert "300 records" in result.output and "built in" in result.output

    assert (count(Site), count(Spot), count(User)) == (2, 1000, 14)
    assert count(Record) == count(Scan) == 300
    steps_per_record = db.session.execute(
        select(func.count(StepResult.id)).join(Record).group_by(Record.id)).scalars().all()
    assert len(steps_per_record) == 300 and set(steps_per_record) <= {3, 4, 5}
    assert count(Record, Record.status == "submitted", Record.reviewer_id.is_(None)) == 15
    assert count(Record, Record.status.in_(("approved", "sent_back")),
                 Record.reviewer_id.is_not(None), Record.reviewed_at.is_not(None)) == 285
    newest_approved = db.session.scalar(
        select(func.max(Record.submitted_at)).where(Record.status != "submitted"))
    oldest_waiting = db.session.scalar(
        select(func.min(Record.submitted_at)).where(Record.status == "submitted"))
    assert oldest_waiting > newest_approved
    assert count(Record, Record.received_at != Record.submitted_at) == 0
    # An anomaly is a step found not OK or out of range, as the scan page would record it.
    for record in db.session.scalars(select(Record).where(Record.anomaly.is_(True))):
        wrong = [result for result in record.results if result.anomaly]
        assert len(wrong) == 1
        step = db.session.get(Step, wrong[0].step_id)
        assert wrong[0].ok is False if step.kind == "tick" else not step.in_range(wrong[0].number)

    site = db.session.scalar(select(Site).order_by(Site.id))
    waiting = db.session.scalars(select(Record.id).where(
        Record.site_id == site.id, Record.status == "submitted")).all()
    assert waiting
    supervisor = login(app.test_client(), "site01-supervisor1", PASSWORD)
    page = html(supervisor.get("/review/"))
    assert all(f'id="record-{ident}"' in page for ident in waiting)
    assert page.count('id="record-') == len(waiting)  # not the other site's, nor approved ones
    assert supervisor.post(f"/review/{waiting[0]}/approve").status_code == 303
    assert db.session.get(Record, waiting[0]).status == "approved"

    # New rows fit after the bench's (on PostgreSQL its ids were given, not drawn).
    guard = login(app.test_client(), "site01-guard1", PASSWORD)
    spot = db.session.scalar(select(Spot).where(Spot.site_id == site.id, Spot.kind == "checkpoint")
                             .order_by(Spot.id))
    response = guard.post(f"/spots/{spot.id}/records", data=answers(spot, key="b" * 32),
                          content_type="multipart/form-data")
    assert response.status_code == 303, html(response)
    assert count(Record) == 301


def test_refuses_a_database_that_has_sites(app):
    sites, records = count(Site), count(Record)
    result = bench_data(app)
    assert result.exit_code == 1
    assert "already has sites" in result.output
    assert (count(Site), count(Record)) == (sites, records)


def test_sent_back_records_are_redone_by_their_worker_at_their_spot(app, monkeypatch):
    """So the benches also go through a worker's sent-back records (the home page, the
    scan page's redo offer), as a real database has them."""
    from app import benchdata

    monkeypatch.setattr(benchdata, "SENT_BACK_SHARE", 0.2)
    empty_tables()
    result = bench_data(app)
    assert result.exit_code == 0, result.output
    sent_back = db.session.scalars(select(Record).where(Record.status == "sent_back")).all()
    assert len(sent_back) > 20 and f"{len(sent_back)} sent back" in result.output
    redone = 0
    for record in sent_back:
        assert record.last_reason and record.reviews[-1].user_id == record.reviewer_id
        redo = db.session.scalar(select(Record).where(Record.redo_of_id == record.id))
        if redo is None:  # sent back near the end: still waiting for its worker
            assert record.reviewed_at > db.session.scalar(select(func.max(Record.submitted_at))) \
                - timedelta(minutes=30)
            continue
        redone += 1
        assert (redo.spot_id, redo.user_id) == (record.spot_id, record.user_id)
        assert redo.submitted_at >= record.reviewed_at + timedelta(minutes=30)
    assert redone > 20
