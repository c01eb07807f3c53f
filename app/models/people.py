"""Sites, users, their roles and which sites they work at."""
import functools
import secrets
from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import JSON, Column, ForeignKey, String, Table, bindparam, select
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..i18n import pick
from .base import utcnow

ROLES = ("guard", "cleaner", "technician", "supervisor", "admin")
FIELD_ROLES = ("guard", "cleaner", "technician")

site_member = Table(
    "site_member",
    db.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("site.id", ondelete="CASCADE"), primary_key=True),
)


class Site(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    timezone: Mapped[str] = mapped_column(String(50), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Where a high-severity incident is posted (a chat group's bot); empty: nowhere.
    webhook_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # {"high": [hours to respond, hours to fix], ...}; a severity left out uses the default.
    deadline_hours: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    # When a late record last made the dashboard count days again: a view that began
    # before then does not keep what it counted (app/reports/stats.py, keep()).
    counts_forgotten_at: Mapped[datetime | None]

    members: Mapped[list["User"]] = relationship(secondary=site_member, back_populates="sites")

    @property
    def name(self) -> str:
        return pick(self.name_zh, self.name_en)

    def hours(self, severity: str) -> tuple[int, int]:
        """(hours to respond, hours to fix) a defect of this severity at this site."""
        from .defects import DEFAULT_HOURS

        respond, fix = (self.deadline_hours or {}).get(severity, DEFAULT_HOURS[severity])
        return int(respond), int(fix)


class UserRole(db.Model):
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    language: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the login cookie: changing it ends every session the user has.
    session_token: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    sites: Mapped[list[Site]] = relationship(
        secondary=site_member, back_populates="members", lazy="selectin", order_by=Site.id
    )

    @property
    def display_name(self) -> str:
        """The full name, or the username when none was entered."""
        return self.name or self.username

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}

    @roles.setter
    def roles(self, names) -> None:
        names = [n for n in ROLES if n in set(names)]
        self.role_rows = [UserRole(role=n) for n in names]

    @property
    def roles_text(self) -> str:
        """The roles as a record keeps them: space-separated, in the order of ROLES."""
        return " ".join(role for role in ROLES if role in self.roles)

    def has_role(self, *names: str) -> bool:
        return bool(self.roles.intersection(names))

    @property
    def site_ids(self) -> set[int]:
        return {s.id for s in self.sites}

    def can_see_site(self, site_id: int) -> bool:
        return site_id in self.site_ids

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    # Flask-Login
    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}.{self.session_token}"

    def end_sessions(self) -> None:
        """Make every existing session and remember cookie of this user invalid."""
        self.session_token = secrets.token_hex(16)

    @classmethod
    def from_session_id(cls, value: str):
        user_id, _, token = value.partition(".")
        if not (user_id.isascii() and user_id.isdigit()) or not token:
            return None
        # Every request asks this: its roles and sites come in the same query, a row per
        # role and site. A worker's is one row (0.9 ms; 1.5 with the sites in a second
        # query); an admin of 100 sites with three roles gets 300 (11 ms; 5.5 with a second
        # query). Workers make most requests, so one query for everyone.
        user = db.session.scalars(user_with_roles_and_sites(), {"id": int(user_id)}
                                  ).unique().one_or_none()
        if user is None or not secrets.compare_digest(user.session_token, token):
            return None
        return user

    @classmethod
    def by_username(cls, username: str):
        return db.session.scalar(select(cls).where(cls.username == username.strip().lower()))


@functools.cache
def user_with_roles_and_sites():
    """Built once and run with parameters (bench/RESULTS.md, "Statements built once"), at
    first use: its loader options need every model mapped."""
    return (select(User).where(User.id == bindparam("id"))
            .options(joinedload(User.role_rows), joinedload(User.sites)))


class LoginFailure(db.Model):
    """A failed login, kept a day, in the database so that throttling (app/auth/throttle.py)
    holds across every worker and server."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(40), index=True)
    address: Mapped[str] = mapped_column(String(45), index=True)
    # From a browser this account logged in on before (its device cookie).
    known_device: Mapped[bool] = mapped_column(default=False)
