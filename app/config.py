"""Safe defaults. Environment variables (FLASK_*) and test overrides come on top."""
import os
from datetime import timedelta


DEV_SECRET_KEY = "dev-only-change-me"
MAX_REMEMBER = timedelta(days=30)


class Defaults:
    SECRET_KEY = DEV_SECRET_KEY
    # A real server sets FLASK_PRODUCTION=true: secure cookies, HSTS, and no start without a
    # secret key of its own (see `production` below and `flask check-deploy`).
    PRODUCTION = False
    # How many proxies in front of the app set X-Forwarded-For/-Proto (nginx: 1). Zero
    # means the client address is the connection's, whatever headers say.
    PROXY_FIX_X_FOR = 0
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # SQLite: transactions outside a request (commands) take the write lock when they begin.
    SQLITE_LOCK_OUTSIDE_REQUESTS = True
    # A round can take hours: the CSRF token lives as long as the session does.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_SSL_STRICT = False
    REMEMBER_COOKIE_DURATION = MAX_REMEMBER
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = MAX_REMEMBER
    # "Keep me logged in" counts from the login, not from the last page: a response that
    # changes nothing in the session sends no cookie (nor brings back one the phone dropped).
    SESSION_REFRESH_EACH_REQUEST = False
    # Camera photos are 4-12 MB; a submission may carry several.
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 1024 * 1024
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")
    REVIEW_PAGE_SIZE = 20
    SEND_FILE_MAX_AGE_DEFAULT = timedelta(days=365)


def database_url(instance_path: str) -> str:
    """DATABASE_URL wins; otherwise an SQLite file under instance/."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + os.path.join(instance_path, "rounds.sqlite")


class ConfigError(RuntimeError):
    """A setting the app must not start with."""


def production(config) -> None:
    """Harden a production configuration in place; refuse one that cannot be made safe."""
    key = config.get("SECRET_KEY") or ""
    if key == DEV_SECRET_KEY or len(key) < 32:
        raise ConfigError("FLASK_SECRET_KEY must be set to a long random value in production "
                          "(at least 32 characters), e.g. python3 -c 'import secrets; "
                          "print(secrets.token_hex(32))'.")
    if config.get("DEBUG"):
        raise ConfigError("Debug mode must be off in production (unset FLASK_DEBUG).")
    config.update(
        SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True,
        # __Host-: the browser only takes them over HTTPS, for this host, for every path.
        SESSION_COOKIE_NAME="__Host-session", REMEMBER_COOKIE_NAME="__Host-remember",
        REMEMBER_COOKIE_DURATION=min(config["REMEMBER_COOKIE_DURATION"], MAX_REMEMBER),
        PERMANENT_SESSION_LIFETIME=min(config["PERMANENT_SESSION_LIFETIME"], MAX_REMEMBER),
    )


def deploy_problems(app) -> list[str]:
    """Every unsafe or missing setting of a deployment, in words an IT person acts on."""
    config = app.config
    problems = []
    if not config.get("PRODUCTION"):
        problems.append("FLASK_PRODUCTION is not true: cookies are not Secure, no HSTS, and "
                        "the secret key is not checked at start.")
    key = config.get("SECRET_KEY") or ""
    if key == DEV_SECRET_KEY or len(key) < 32:
        problems.append("FLASK_SECRET_KEY is the development key or shorter than 32 characters.")
    if config.get("DEBUG"):
        problems.append("Debug mode is on: anyone who sees an error page can run code.")
    if config.get("TESTING"):
        problems.append("TESTING is on.")
    if not config.get("WTF_CSRF_ENABLED", True):
        problems.append("CSRF protection is off (WTF_CSRF_ENABLED).")
    for name in ("SESSION_COOKIE", "REMEMBER_COOKIE"):
        if not config.get(f"{name}_SECURE"):
            problems.append(f"{name}_SECURE is off: the cookie would travel over plain HTTP.")
        if not config.get(f"{name}_HTTPONLY", True):
            problems.append(f"{name}_HTTPONLY is off: page scripts could read the cookie.")
        if config.get(f"{name}_SAMESITE") not in ("Lax", "Strict"):
            problems.append(f"{name}_SAMESITE should be Lax.")
    for cookie, name in (("session", "SESSION_COOKIE_NAME"), ("remember", "REMEMBER_COOKIE_NAME")):
        if not str(config.get(name, "")).startswith("__Host-"):
            problems.append(f"The {cookie} cookie has no __Host- name.")
    for name in ("REMEMBER_COOKIE_DURATION", "PERMANENT_SESSION_LIFETIME"):
        if config[name] > MAX_REMEMBER:
            problems.append(f"{name} is over 30 days.")
    size = config.get("MAX_CONTENT_LENGTH")
    if not size or size > 100 * 2**20:
        problems.append("MAX_CONTENT_LENGTH is unset or over 100 MB: one request could fill "
                        "the disk or memory.")
    photo_dir = config.get("PHOTO_DIR", "")
    if not os.path.isdir(photo_dir) or not os.access(photo_dir, os.W_OK):
        problems.append(f"The photo folder {photo_dir} does not exist or is not writable.")
    problems += database_problems(app)
    return problems


def database_problems(app) -> list[str]:
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from .extensions import db

    try:
        with app.app_context(), db.engine.connect() as connection:
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar() \
                if db.engine.dialect.name == "sqlite" else None
    except Exception as error:  # noqa: BLE001 - reported, whatever it is
        cause = getattr(error, "orig", None) or error  # the driver's words, on one line
        first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        return [f"The database cannot be read ({cause.__class__.__name__}: {first_line}); "
                "if it is new, run `flask --app wsgi db upgrade`."]
    problems = []
    head = ScriptDirectory.from_config(
        app.extensions["migrate"].migrate.get_config()).get_current_head()
    if current != head:
        problems.append(f"The database is at migration {current}, the code needs {head}: "
                        "run `flask --app wsgi db upgrade`.")
    if journal is not None and journal.lower() != "wal":
        problems.append(f"SQLite journal mode is {journal}, not WAL.")
    return problems
