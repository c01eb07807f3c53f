"""Translations: the catalogs cover every string in the code, are compiled, and the pages use them.

How to update the catalogs: app/translations/README.md.
"""
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po

from app.config import Defaults

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
POT = TRANSLATIONS / "messages.pot"
# Must match the extract command in app/translations/README.md.
EXTRACT = ["extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext"]
HOWTO = "see app/translations/README.md (extract -> update -> translate -> compile)"

# Flask-Babel looks a locale up by Babel's name for it: "zh_CN" is parsed to zh_Hans_CN.
FOLDERS = {lang: TRANSLATIONS / str(Locale.parse(lang)) / "LC_MESSAGES" for lang in Defaults.LANGUAGES}

# %(name)s, %d, %.1f ... and %% (a literal percent sign).
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0 +-]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa%]")
# Chinese text followed by ASCII punctuation: it should be ，。：；！？（ instead.
ASCII_PUNCTUATION_IN_CHINESE = re.compile(r"[\u3400-\u9fff][,.:;!?(]")
# Chinese msgstrs allowed to be the same as the English msgid.
SAME_IN_CHINESE = {"Rounds"}


def read(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def entries(catalog) -> dict:
    """(context, msgid) -> message, without the header."""
    return {(m.context, m.id): m for m in catalog if m.id}


def label(key) -> str:
    context, msgid = key
    text = msgid if isinstance(msgid, str) else " | ".join(msgid)
    return f"[{context}] {text!r}" if context else repr(text)


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def as_tuple(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def test_the_pot_holds_every_string_in_the_code(tmp_path):
    fresh_path = tmp_path / "fresh.pot"
    done = subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", *EXTRACT,
                           "-o", str(fresh_path), "."], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"pybabel extract failed:\n{done.stderr}"
    fresh, known = set(entries(read(fresh_path))), set(entries(read(POT)))
    missing = sorted(fresh - known, key=str)
    gone = sorted(known - fresh, key=str)
    problems = []
    if missing:
        problems.append(f"{len(missing)} string(s) in the code but not in messages.pot:\n  "
                        + "\n  ".join(map(label, missing)))
    if gone:
        problems.append(f"{len(gone)} string(s) in messages.pot no longer in the code:\n  "
                        + "\n  ".join(map(label, gone)))
    assert not problems, "\n".join(problems) + f"\nUpdate the catalogs: {HOWTO}."


@pytest.mark.parametrize("lang", Defaults.LANGUAGES)
def test_each_catalog_translates_every_string(lang):
    po = FOLDERS[lang] / "messages.po"
    assert po.exists(), f"No catalog for {lang} at {po.relative_to(ROOT)}: {HOWTO}."
    template, catalog = entries(read(POT)), entries(read(po))
    missing = [key for key in template if key not in catalog]
    extra = [key for key in catalog if key not in template]
    fuzzy = [key for key, m in catalog.items() if m.fuzzy]
    empty = [key for key, m in catalog.items() if not all(as_tuple(m.string))]
    problems = [f"{what} ({len(keys)}):\n  " + "\n  ".join(map(label, keys))
                for what, keys in [("not in the catalog, run pybabel update", missing),
                                   ("in the catalog but not in messages.pot", extra),
                                   ("marked fuzzy: check the translation, then drop the flag", fuzzy),
                                   ("not translated", empty)] if keys]
    assert not problems, f"{po.relative_to(ROOT)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("lang", Defaults.LANGUAGES)
def test_translations_keep_the_placeholders(lang):
    catalog = read(FOLDERS[lang] / "messages.po")
    wrong = []
    for key, message in entries(catalog).items():
        allowed = [placeholders(text) for text in as_tuple(message.id)]
        for text in as_tuple(message.string):
            # A "%" left over after the placeholders breaks %-formatting of the message.
            stray = "%" in PLACEHOLDER.sub("", text)
            if text and (placeholders(text) not in allowed or stray):
                wrong.append(f"{label(key)} -> {text!r}")
    assert not wrong, "Placeholders differ from the English:\n  " + "\n  ".join(wrong)


def test_chinese_reads_as_chinese():
    catalog = read(FOLDERS["zh_CN"] / "messages.po")
    untranslated, punctuation = [], []
    for key, message in entries(catalog).items():
        for english, text in zip(as_tuple(message.id), as_tuple(message.string)):
            if text == english and english not in SAME_IN_CHINESE:
                untranslated.append(label(key))
            if ASCII_PUNCTUATION_IN_CHINESE.search(text):
                punctuation.append(f"{label(key)} -> {text!r}")
    assert not untranslated, "Left in English in the Chinese catalog:\n  " + "\n  ".join(untranslated)
    assert not punctuation, "Use Chinese punctuation (，。：；！？（）):\n  " + "\n  ".join(punctuation)


@pytest.mark.parametrize("lang", Defaults.LANGUAGES)
def test_compiled_catalog_is_current(lang):
    po, mo = FOLDERS[lang] / "messages.po", FOLDERS[lang] / "messages.mo"
    hint = "run `make test` (it compiles them) or `.venv/bin/pybabel compile -d app/translations`"
    assert mo.exists(), f"{mo.relative_to(ROOT)} is missing: {hint}."
    current = mo.stat().st_mtime >= po.stat().st_mtime
    assert current, f"{mo.relative_to(ROOT)} is older than its .po: {hint}."


@pytest.mark.parametrize("accept, shown, absent", [
    ("zh-CN,zh;q=0.9", ["<h1>登录</h1>", "账号", "密码", "在此手机上保持登录"], "Log in"),
    ("en-US,en;q=0.9", ["<h1>Log in</h1>", "Username", "Password", "Keep me logged in"], "登录"),
])
def test_login_page_is_in_the_browsers_language(client, accept, shown, absent):
    html = client.get("/login", headers={"Accept-Language": accept}).get_data(as_text=True)
    for text in shown:
        assert text in html
    assert absent not in html


def test_messages_from_the_code_are_translated(client):
    response = client.post("/login", data={"username": "guard", "password": "wrong"},
                           headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 422
    assert "账号或密码错误" in response.get_data(as_text=True)


def test_a_template_follows_a_language_switched_within_the_request(app):
    """Templates look their catalogue up once per language (app/i18n.py); a chat message
    written in both languages switches within one request."""
    from flask import render_template_string
    from flask_babel import force_locale

    page = "{{ _('Log out') }} {{ ngettext('%(num)d record', '%(num)d records', 2) }}"
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        chinese = render_template_string(page)
        with force_locale("en"):
            english = render_template_string(page)
        assert render_template_string(page) == chinese
    assert english == "Log out 2 records"
    assert chinese.startswith("退出") and "Log out" not in chinese
