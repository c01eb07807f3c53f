"""Command-line tasks: `flask seed-demo`, `flask send-alerts`, `flask check-deploy`."""
import click
from sqlalchemy import func, select

from .extensions import db
from .models import User


def init_app(app) -> None:
    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only seed when there are no users yet.")
    def seed_demo(if_empty):
        """Load the demo compound, its spots and SOPs, and the demo accounts."""
        from . import demo, demo_records

        if if_empty and db.session.scalar(select(func.count()).select_from(User)):
            click.echo("Database already has data; demo not loaded.")
        else:
            demo.load()
            demo_records.add_sample_records()
            made = demo_records.add_history()
            click.echo(f"{made} records of the last {demo_records.HISTORY_DAYS} days added.")
            click.echo("Demo data loaded.")
        click.echo(demo.ACCOUNTS_TEXT)

    @app.cli.command("send-alerts")
    def send_alerts():
        """Send the chat alerts of high-severity incidents that are due (run by a timer)."""
        from . import alerts
        from .models.base import utcnow

        sent, failed = alerts.deliver_due(utcnow())
        click.echo(f"Alerts sent: {sent}, failed and queued again: {failed}.")

    @app.cli.command("check-deploy")
    def check_deploy():
        """Report every unsafe setting of this deployment; exit 1 if there is any."""
        from .config import deploy_problems

        problems = deploy_problems(app)
        for problem in problems:
            click.echo(f"PROBLEM: {problem}")
        if problems:
            raise SystemExit(1)
        click.echo("No problems found.")

    @app.cli.command("bench-data")
    @click.option("--sites", type=click.IntRange(1), default=20, show_default=True)
    @click.option("--records", type=click.IntRange(0), default=1_000_000, show_default=True)
    @click.option("--password", default="bench1234", show_default=True,
                  help="Of every bench user (site01-supervisor1, site01-guard1, ...).")
    def bench_data(sites, records, password):
        """Fill an empty database with made-up sites, users and records, to measure speed."""
        from . import benchdata

        try:
            benchdata.build(sites=sites, records=records, password=password, echo=click.echo)
        except benchdata.NotEmpty as refusal:
            raise click.ClickException(str(refusal)) from None
