"""Language choice and bilingual names."""
from flask import current_app, request, session
from flask_babel import get_locale
from flask_login import current_user


def select_locale() -> str:
    """The user's choice, else the browser's Accept-Language, else Chinese."""
    languages = current_app.config["LANGUAGES"]
    choice = session.get("lang")
    if choice in languages:
        return choice
    if current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    if best is None:
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    return "en" if best == "en" else "zh_CN"


def is_chinese() -> bool:
    locale = get_locale()
    return locale is None or locale.language == "zh"


def pick(zh: str, en: str) -> str:
    """The name in the page's language, falling back to the other one."""
    if is_chinese():
        return zh or en
    return en or zh
