"""Safe defaults. Environment variables (FLASK_*) and test overrides come on top."""
import os
from datetime import timedelta


class Defaults:
    SECRET_KEY = "dev-only-change-me"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # A round can take hours: the CSRF token lives as long as the session does.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_SSL_STRICT = False
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(days=30)
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
