"""The reader's language for server texts (problem+json titles and details): en, the source
language, and zh-CN, from gettext catalogues in app/translations read with Babel.

The catalogues are .po files read once at start (no compiled .mo files in the repository);
the language comes from Accept-Language. Texts without a translation stay in English, so a
detail built from data (a field's name, a number) is never garbled.
"""

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import has_request_context, request

CATALOGUES = Path(__file__).resolve().parent / "translations"
LANGUAGES = ("en", "zh-CN")
_LOCALE_DIRS = {"zh-CN": "zh_CN"}


@cache
def _translations(language: str) -> NullTranslations:
    po = CATALOGUES / _LOCALE_DIRS.get(language, language) / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalogue = read_po(source)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled)


def reader_language() -> str:
    """The best of our languages for this request's Accept-Language (en outside requests)."""
    if not has_request_context():
        return "en"
    best = request.accept_languages.best_match(LANGUAGES + ("zh",), default="en")
    return "zh-CN" if best == "zh" else best


def translate(text: str | None) -> str | None:
    """`text` in the reader's language when the catalogue has it."""
    if not text:
        return text
    return _translations(reader_language()).gettext(text)
