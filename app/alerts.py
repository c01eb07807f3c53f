"""High-severity incidents posted to a site's chat webhook: stored first, sent after, retried.

The incident and its Delivery row commit together, so a webhook that is down never loses
anything: the first attempt is made right after the commit, later ones by
`flask send-alerts` (a timer runs it every minute, see the README). The message is JSON with no photos, only a link that needs a login;
it carries `msgtype`/`text` too, which WeCom and DingTalk group bots display as is.
Webhook URLs hold a key in their query string or path, so logs and errors name only the
scheme and host.
"""
import json
import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update

from .extensions import db
from .models import Delivery

log = logging.getLogger(__name__)

TIMEOUT = 3  # seconds: the first attempt runs while the reporter waits
MAX_ATTEMPTS = 10  # 1, 2, 4 ... minutes apart, then hourly: about four hours in all
LEASE = timedelta(minutes=2)  # a sender's claim on a delivery, so two never send it twice


def valid_webhook(url: str) -> bool:
    """http or https with a host, no spaces, no user:password@ part."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a bad port
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.hostname)
            and "@" not in parts.netloc and not any(c.isspace() for c in url) and len(url) <= 500)


def redacted(url: str) -> str:
    """Scheme, host and port only: bots keep their key in the query (WeCom, DingTalk) or in
    the path (Feishu, Slack), so neither is safe for logs, the audit trail or screens."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def queue(defect, site, message: dict, now: datetime) -> Delivery | None:
    """Add the incident's delivery to the current transaction, when the site has a webhook."""
    if not site.webhook_url:
        return None
    delivery = Delivery(defect_id=defect.id, url=site.webhook_url, created_at=now,
                        next_try_at=now, payload=json.dumps(message, ensure_ascii=False))
    db.session.add(delivery)
    return delivery


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** (attempts - 1), 60))


def post(url: str, payload: str) -> None:
    request = urllib.request.Request(url, data=payload.encode(), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "User-Agent": "Rounds"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        response.read(1024)


def error_text(error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code}"
    if isinstance(error, urllib.error.URLError):
        return f"{type(error.reason).__name__}: {error.reason}"[:200]
    return type(error).__name__


def send(delivery: Delivery, now: datetime) -> bool:
    """One attempt; the row records the result. The caller commits."""
    delivery.attempts += 1
    try:
        post(delivery.url, delivery.payload)
    except Exception as error:  # noqa: BLE001 -- any failure is retried, none is lost
        delivery.last_error = error_text(error)
        delivery.next_try_at = (now + backoff(delivery.attempts)
                                if delivery.attempts < MAX_ATTEMPTS else None)
        log.warning("alert %s to %s failed (attempt %d): %s", delivery.id,
                    redacted(delivery.url), delivery.attempts, delivery.last_error)
        return False
    delivery.delivered_at, delivery.next_try_at, delivery.last_error = now, None, ""
    return True


def deliver_due(now: datetime, limit: int = 50, only: int | None = None) -> tuple[int, int]:
    """Send what is due (or only the delivery `only`); (sent, failed).

    Each delivery is claimed first, then committed."""
    sent = failed = 0
    query = select(Delivery).where(Delivery.next_try_at <= now)
    if only is not None:
        query = query.where(Delivery.id == only)
    due = db.session.scalars(query.order_by(Delivery.next_try_at).limit(limit)).all()
    for delivery in due:
        claimed = db.session.execute(
            update(Delivery).where(Delivery.id == delivery.id,
                                   Delivery.next_try_at == delivery.next_try_at)
            .values(next_try_at=now + LEASE).execution_options(synchronize_session=False))
        db.session.commit()
        if claimed.rowcount != 1:
            continue
        db.session.refresh(delivery)
        if send(delivery, now):
            sent += 1
        else:
            failed += 1
        db.session.commit()
    return sent, failed
