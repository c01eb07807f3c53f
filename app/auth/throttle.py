"""Login throttling: slow down password guessing without letting anyone lock a site out.

Failures are rows in the database, so every worker and server counts the same ones.
- A browser an account logged in on before carries a signed device cookie naming it
  (`known_device`). Its attempts for that account are limited on their own, so a worker's
  own phone keeps working while someone else guesses at the account, or at everyone from
  the site's shared Wi-Fi.
- Other browsers are limited per account and per client address. The address is the
  connection's, or with FLASK_PROXY_FIX_X_FOR set, the one the proxy in front reports.
"""
import math
from datetime import datetime, timedelta

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import LoginFailure

WINDOW = timedelta(minutes=15)
PER_ADDRESS = 30  # failures from one address, any accounts, from unknown browsers
PER_ACCOUNT = 10  # failures for one account from browsers it never logged in on
PER_KNOWN_DEVICE = 10  # failures for one account from browsers it logged in on before
KEEP = timedelta(days=1)
DEVICE_COOKIE_AGE = 365 * 24 * 3600
MAX_NAMES = 10  # accounts a shared phone remembers


def device_cookie_name() -> str:
    return "__Host-device" if current_app.config["PRODUCTION"] else "rounds_device"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="login-device")


def known_names() -> list[str]:
    try:
        names = _serializer().loads(request.cookies.get(device_cookie_name(), ""))
    except BadSignature:
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def remember_device(response, username: str) -> None:
    """After a successful login: this browser is now a known device of the account."""
    names = [username] + [n for n in known_names() if n != username]
    response.set_cookie(device_cookie_name(), _serializer().dumps(names[:MAX_NAMES]),
                        max_age=DEVICE_COOKIE_AGE, httponly=True, samesite="Lax",
                        secure=current_app.config["PRODUCTION"], path="/")


def _failures(now: datetime, *where):
    """(count, earliest) of failures in the window matching the conditions."""
    return db.session.execute(select(func.count(), func.min(LoginFailure.at)).where(
        LoginFailure.at > now - WINDOW, *where)).one()


def wait(username: str, now: datetime) -> int:
    """Minutes to wait before this browser may try this account again; 0: go ahead."""
    address = request.remote_addr or ""
    if username in known_names():
        checks = [(PER_KNOWN_DEVICE, (LoginFailure.username == username,
                                      LoginFailure.known_device.is_(True)))]
    else:
        checks = [(PER_ACCOUNT, (LoginFailure.username == username,
                                 LoginFailure.known_device.is_(False))),
                  (PER_ADDRESS, (LoginFailure.address == address,
                                 LoginFailure.known_device.is_(False)))]
    longest = 0
    for limit, where in checks:
        count, earliest = _failures(now, *where)
        if count >= limit:
            left = (earliest + WINDOW - now).total_seconds()
            longest = max(longest, max(1, math.ceil(left / 60)))
    return longest


def failed(username: str, now: datetime) -> None:
    db.session.execute(delete(LoginFailure).where(LoginFailure.at < now - KEEP))
    db.session.add(LoginFailure(at=now, username=username[:40],
                                address=(request.remote_addr or "")[:45],
                                known_device=username in known_names()))
