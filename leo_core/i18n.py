"""One message catalog for every user-facing string: English source text, translated with gettext.

Mark text where it is written and translate it where it is shown::

    from leo_core.i18n import _, N_, ngettext

    st.button(_("Start"))                                    # translated now, in the reader's language
    TITLE = N_("The exact loss plane")                       # a module constant: marked, translated when shown
    st.subheader(_(TITLE))
    st.caption(_("{n} tasks drawn").format(n=n))             # placeholders by name, filled after translating
    ngettext("{n} entry", "{n} entries", n).format(n=n)

The catalog is the gettext domain ``messages``: ``leo_core/locales/<lang>/LC_MESSAGES/messages.po``, read with
Babel and compiled in memory, so the ``.po`` file edited is what runs (no ``.mo`` to forget). ``pybabel
extract`` finds every marked string and ``pybabel update`` brings the catalog in step (``babel.cfg``,
``docs/TRANSLATING.md``); ``tests/test_i18n.py`` fails on a marked string without its Chinese translation, a
translation whose placeholders differ, a stale entry, and English sentences on a page shown in Chinese.

The reader's language: the app installs ``set_language_source`` (the session's choice); elsewhere (the command
line, tests) ``use_language`` sets it for a block. English is the source text itself.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import io
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Callable, Iterator

__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "LOCALE_DIR", "_", "N_", "ngettext", "language", "use_language",
           "set_language_source", "translations", "catalog_files", "best_language", "extract_with_docstring",
           "Message", "shown"]

LOCALE_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
LANGUAGES = {"en": "English", "zh": "简体中文"}  # code → its own name (the switch shows these)
DEFAULT_LANGUAGE = "en"

_current: ContextVar[str | None] = ContextVar("leo_language", default=None)  # set by use_language
_source: Callable[[], str | None] | None = None


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it (module constants; translate with ``_`` when shown)."""
    return message


def set_language_source(source: Callable[[], str | None] | None) -> None:
    """Where ``language()`` reads the reader's language (the app: the session's choice); None → ``use_language``."""
    global _source
    _source = source


def language() -> str:
    """The language text is shown in now: ``use_language``'s inside its block, else the source's (the session's),
    else English."""
    explicit = _current.get()
    if explicit is not None:
        return explicit
    if _source is not None:
        chosen = _source()
        if chosen in LANGUAGES:
            return chosen
    return DEFAULT_LANGUAGE


@contextlib.contextmanager
def use_language(lang: str) -> Iterator[None]:
    """Show text in ``lang`` inside the block (the command line, tests, the offline handout)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def catalog_files(lang: str) -> list[Path]:
    """The ``.po`` file of ``lang``'s catalog (a list: none for the source language)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    return [path] if path.is_file() else []


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """``lang``'s compiled catalog (English: the source text)."""
    if lang == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    merged = Catalog(locale=lang, domain=DOMAIN)
    for path in catalog_files(lang):
        with path.open("rb") as f:
            for message in read_po(f, locale=lang):
                if message.id and message.string and not message.fuzzy:  # untranslated: the English source
                    merged[message.id] = message
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _(message: str) -> str:
    """``message`` in the reader's language (the English source where the catalog has no translation)."""
    lang = language()
    return message if lang == DEFAULT_LANGUAGE else translations(lang).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural ``message`` for ``n``, in the reader's language."""
    lang = language()
    if lang == DEFAULT_LANGUAGE:
        return singular if n == 1 else plural
    return translations(lang).ngettext(singular, plural, n)


class Message(str):
    """English text filled in from a marked template (``Message(N_("{name}'s own α"), name=key)``): it reads,
    compares and prints as the English text (the command line, logs, tests), and ``shown`` puts it in the
    reader's language later, where it is displayed (a label declared once, a message made in a worker thread)."""

    template: str
    values: dict[str, Any]

    def __new__(cls, template: str, **values: Any) -> "Message":
        text = super().__new__(cls, template.format(**values) if values else template)
        text.template, text.values = template, values
        return text


def shown(text: Any) -> Any:
    """``text`` in the reader's language: a marked literal (``N_``) or a ``Message`` (its template translated,
    then filled with its values, themselves shown); anything else, and the empty string, as it is."""
    if isinstance(text, Message):
        if not text.values:
            return _(text.template) if text.template else text.template
        return _(text.template).format(**{k: shown(v) for k, v in text.values.items()})
    return _(text) if isinstance(text, str) and text else text


def best_language(accepted: str | None) -> str:
    """The first supported language in a browser's locale or Accept-Language value ("zh-CN,zh;q=0.9,en")."""
    for part in (accepted or "").split(","):
        code = part.split(";")[0].strip().lower().replace("_", "-").split("-")[0]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def extract_with_docstring(fileobj, keywords, comment_tags, options):
    """Babel extractor (``babel.cfg``) for a module whose docstring the app shows whole — an algorithm's notes on
    the Theory page (``leo_core.algorithms.algorithm_notes``): the marked strings, as Babel's Python extractor finds
    them, and the docstring cleaned as ``inspect.cleandoc`` does."""
    import ast

    from babel.messages.extract import extract_python

    data = fileobj.read()
    yield from extract_python(io.BytesIO(data), keywords, comment_tags, options)
    doc = ast.get_docstring(ast.parse(data.decode(options.get("encoding", "utf-8"))), clean=True)
    if doc:
        yield 1, "_", doc, ["The module's docstring: shown whole on the Theory page."]
