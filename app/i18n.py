"""Language choice and bilingual names."""
from flask import current_app, g, request, session
from flask_babel import get_locale, get_translations
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


def template_gettext(string: str) -> str:
    """Flask-Babel's `_()` for templates, with the request's catalogue found once per
    language rather than once per string (a review page has two hundred). A changed
    language (`force_locale`) is a new locale object, so it finds its own catalogue."""
    locale = getattr(g.get("_flask_babel"), "babel_locale", None)
    found = g.get("_rounds_catalogue")
    if locale is None or found is None or found[0] is not locale:
        catalogue = get_translations()
        found = g._rounds_catalogue = (get_locale(), catalogue)
    return found[1].ugettext(string)


def install_template_gettext(app) -> None:
    app.jinja_env.install_gettext_callables(
        gettext=template_gettext, newstyle=True,
        ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n))
