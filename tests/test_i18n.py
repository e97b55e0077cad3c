"""The message catalog: every marked string translated into Chinese with its placeholders, no stale entry, the
font covering the translations, the language chosen from the link or the browser, and no English sentence left on a page shown in
Chinese (every page of the app, read in AppTest: text, widget labels and options, help, chart titles, axes,
legends and annotations).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from helpers import close_app, open_app
from leo_core import i18n

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"\{[^{}]*\}")

# Names kept in Chinese text (people, methods, data sets, units), removed before looking for English.
NAMES = ["Finn et al.", "Chen et al.", "Lake et al.", "Li et al.", "Nichol et al.", "Rajeswaran et al.",
         "Raghu et al.", "Rusu et al.", "Meta-SGD", "meta-SGD", "MAML", "iMAML", "FOMAML", "ANIL", "LEO", "leo-fo",
         "leo-latent", "Reptile", "reptile", "Omniglot", "Adam", "SGD", "PCA", "MSE", "LEO Explorer", "Streamlit",
         "PyTorch", "plotly", "CUDA", "CPU", "GPU", "PNG", "SVG", "HTML", "JSON", "CSV", "ReLU", "Conv4", "MLP"]
# Three or more Latin words in a row: an English phrase a Chinese reader was left with.
ENGLISH = re.compile(r"\b[A-Za-z][a-z]+(?:'[a-z]+)?(?:[ ,;:\-]+[A-Za-z][a-z]+(?:'[a-z]+)?){2,}")
_STRIP = [re.compile(p, re.S) for p in (r"`[^`]*`", r"\$\$.*?\$\$", r"\$[^$]*\$", r"https?://\S+", r"\]\([^)]*\)",
                                        r"<[^>]+>", r"\?[a-z_]+=[^\s&]*")]
TEXT_FIELDS = {"body", "label", "help", "placeholder", "options", "text", "caption", "title", "value",
               "formattedOptions", "tooltip", "markdown"}


def _extracted() -> dict[str, list[str]]:
    """msgid → where it is marked, from the source, as ``pybabel extract -F babel.cfg`` finds it."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map,
                                                                          keywords=KEYWORDS):
        for msgid in (message if isinstance(message, tuple) else (message,)):
            if msgid:
                found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def _catalog(lang: str = "zh") -> dict[str, list[str]]:
    """msgid → its translations (one per plural form) over every ``.po`` file of ``lang``."""
    from babel.messages.pofile import read_po

    out: dict[str, list[str]] = {}
    for path in i18n.catalog_files(lang):
        with path.open("rb") as f:
            for m in read_po(f, locale=lang):
                if not m.id:
                    continue
                ids = m.id if isinstance(m.id, tuple) else (m.id,)
                strings = list(m.string) if isinstance(m.string, (tuple, list)) else [m.string]
                for msgid in ids:
                    out[msgid] = [] if m.fuzzy else strings
    return out


def test_every_marked_string_has_its_chinese_translation():
    catalog = _catalog()
    missing = [f"{where[0]}: {msgid!r}" for msgid, where in _extracted().items()
               if not all(s.strip() for s in catalog.get(msgid, [""]))]
    assert not missing, f"{len(missing)} marked strings without a Chinese translation:\n" + "\n".join(missing[:40])


def test_translations_keep_their_placeholders():
    bad = []
    for msgid, strings in _catalog().items():
        want = sorted(PLACEHOLDER.findall(msgid))
        bad += [f"{msgid!r} → {s!r}" for s in strings if s and sorted(PLACEHOLDER.findall(s)) != want]
    assert not bad, "\n".join(bad[:20])


def test_the_catalog_has_no_stale_entry():
    """Every entry is marked somewhere in the source (the algorithms' docstrings included, ``babel.cfg``): a message
    the code no longer shows is removed, not kept — and ``pybabel update`` would drop nothing the app shows."""
    stale = sorted(set(_catalog()) - set(_extracted()))
    assert not stale, f"{len(stale)} entries no code shows:\n" + "\n".join(map(repr, stale[:20]))


def test_the_documented_pybabel_update_leaves_the_catalog_whole(tmp_path):
    """docs/TRANSLATING.md's two commands on the current tree: every entry stays, none turns fuzzy or obsolete."""
    import shutil
    import subprocess
    import sys

    from babel.messages.pofile import read_po

    pybabel = str(Path(sys.executable).with_name("pybabel"))
    pot, locales = tmp_path / "messages.pot", tmp_path / "locales"
    shutil.copytree(i18n.LOCALE_DIR, locales)
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    subprocess.run([pybabel, "extract", "-F", "babel.cfg", "-k", "N_", "-o", str(pot), "."], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    subprocess.run([pybabel, "update", "-i", str(pot), "-d", str(locales), "-l", "zh", "--no-fuzzy-matching"],
                   env=env, check=True, capture_output=True)
    path = locales / "zh" / "LC_MESSAGES" / "messages.po"
    updated = read_po(path.open("rb"), locale="zh")
    assert "#~ msgid" not in path.read_text(encoding="utf-8"), "obsolete entries"
    assert not [m.id for m in updated if m.id and m.fuzzy], "fuzzy entries"
    assert len([m for m in updated if m.id]) == len(_catalog_ids()), "entries added or lost"


def _catalog_ids() -> set:
    from babel.messages.pofile import read_po

    return {m.id for m in read_po(i18n.catalog_files("zh")[0].open("rb"), locale="zh") if m.id}


def test_the_theory_pages_notes_are_extracted_as_shown():
    from leo_core.algorithms import ALGORITHMS, algorithm_notes, get_algorithm

    extracted = set(_extracted())
    missing = [key for key in ALGORITHMS if algorithm_notes(get_algorithm(key)) not in extracted]
    assert not missing, f"algorithm notes babel.cfg does not extract: {missing}"


def test_the_font_has_every_translated_character():
    from fontTools.ttLib import TTFont

    from leo_app.fonts import FONT

    cmap = TTFont(str(FONT)).getBestCmap()
    used = {c for strings in _catalog().values() for s in strings for c in s if ord(c) >= 0x2E80}
    lacking = sorted(c for c in used if ord(c) not in cmap)
    assert not lacking, (f"{len(lacking)} characters missing from {FONT.name}: {''.join(lacking[:50])} — run "
                         "leo_app/static/fonts/build_font.py")


def test_language_from_the_browser_and_in_code():
    assert i18n.best_language("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert i18n.best_language("en-GB") == "en"
    assert i18n.best_language("fr-FR,de") == "en"
    assert i18n.best_language(None) == "en"
    some = next(iter(_catalog()))
    with i18n.use_language("zh"):
        assert i18n._(some) == _catalog()[some][0]
    assert i18n._(some) == some
    with pytest.raises(ValueError):
        with i18n.use_language("xx"):
            pass


# -- pages shown in Chinese ------------------------------------------------------------------------------------


def english_phrases(text: str) -> list[str]:
    """The English phrases in ``text`` once names, code, formulas, links and markup are removed."""
    for name in sorted(NAMES, key=len, reverse=True):
        text = text.replace(name, " ")
    for pattern in _STRIP:
        text = pattern.sub(" ", text)
    return [m.group(0) for m in ENGLISH.finditer(text)]


def _figure_texts(spec: dict) -> list[str]:
    """The words a plotly figure shows: titles, axis titles, annotations, trace names, buttons, slider labels."""
    out: list[str] = []
    layout = spec.get("layout", {})

    def title(obj) -> None:
        t = obj.get("title") if isinstance(obj, dict) else None
        if isinstance(t, dict):
            t = t.get("text")
        if isinstance(t, str):
            out.append(t)

    title(layout)
    for key, value in layout.items():
        if key.startswith(("xaxis", "yaxis", "coloraxis")) and isinstance(value, dict):
            title(value)
    out += [a.get("text", "") for a in layout.get("annotations", []) if isinstance(a, dict)]
    for menu in layout.get("updatemenus", []):
        out += [b.get("label", "") for b in menu.get("buttons", [])]
    for slider in layout.get("sliders", []):
        out.append(str(slider.get("currentvalue", {}).get("prefix", "")))
    for trace in spec.get("data", []):
        out.append(str(trace.get("name", "")))
        if isinstance(trace.get("colorbar"), dict):
            title(trace["colorbar"])
    return out


def _json(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


def _strings(value, field: str = "") -> list[str]:
    """Text-bearing strings in a proto-as-dict: whitelisted fields, and figures inside JSON arguments."""
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _strings(v, k)
    elif isinstance(value, list):
        for v in value:
            out += _strings(v, field)
    elif isinstance(value, str):
        if value.lstrip()[:1] in ('{', '"') and ('layout' in value or 'figure' in value):
            parsed = _json(value)
            parsed = _json(parsed) if isinstance(parsed, str) else parsed  # the chart component's double encoding
            spec = parsed.get("figure", parsed) if isinstance(parsed, dict) else {}
            spec = _json(spec) if isinstance(spec, str) else spec
            if isinstance(spec, dict) and ("layout" in spec or "data" in spec):
                out += _figure_texts(spec)
        elif field in TEXT_FIELDS and not value.lstrip().startswith(("<style", "<script", "<link")):
            out.append(value)
    return out


def page_texts(at: AppTest) -> list[str]:
    """Every user-facing string on the page AppTest ran (main area and sidebar)."""
    from google.protobuf.json_format import MessageToDict

    texts: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "DESCRIPTOR"):
            texts.extend(_strings(MessageToDict(proto)))
        for child in getattr(node, "children", {}).values():
            walk(child)

    for root in at._tree.children.values():
        walk(root)
    return texts


PAGES = ["lecture", "train", "adaptation", "landscape", "compare", "theory"]


def _no_english(at: AppTest, where: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    left = sorted({f"{p!r} in {t[:80]!r}" for t in page_texts(at) for p in english_phrases(t)})
    assert not left, f"{where}: {len(left)} English phrases in Chinese:\n" + "\n".join(left[:40])


def run_in_chinese(page: str, **params: str) -> AppTest:
    return open_app(page, lang="zh", **params)


@pytest.mark.parametrize("page", PAGES)
def test_a_page_in_chinese_has_no_english_sentence(page):
    at = run_in_chinese(page)
    try:
        _no_english(at, page)
    finally:
        close_app(at)


def test_the_link_sets_the_language_and_the_sidebar_switches_it():
    at = open_app(lang="zh")
    try:
        assert at.session_state["lang"] == "zh"
        assert at.query_params.get("lang") in ("zh", ["zh"])
        at.selectbox(key="lang").set_value("en").run()
        assert at.session_state["lang"] == "en"
        assert "lang" not in at.query_params
    finally:
        close_app(at)


@pytest.mark.parametrize("ch", range(1, 9))
def test_every_lecture_chapter_in_chinese_has_no_english_sentence(ch):
    at = run_in_chinese("lecture", ch=str(ch))
    try:
        _no_english(at, f"chapter {ch}")
        at.button(key="lecture_next" if ch < 8 else "lecture_prev").click().run()  # a rerun in Chinese
        assert not at.exception, [e.value for e in at.exception]
    finally:
        close_app(at)


def test_a_divergence_made_in_a_training_thread_is_told_in_the_readers_language():
    """The trainer raises English (the command line's); the app shows the same message in Chinese."""
    from helpers import tiny_config
    from leo_core.train import Trainer, TrainingDiverged

    trainer = Trainer(tiny_config(alpha=50.0, k=5, iterations=50))
    with pytest.raises(TrainingDiverged) as caught:
        for _record in trainer:
            pass
    assert str(caught.value).startswith("training diverged at iteration")
    with i18n.use_language("zh"):
        zh = i18n.shown(caught.value.message)
    assert "训练在第" in zh and "α=50 配合 k=5" in zh and not english_phrases(zh), zh


def _bold_that_does_not_render(text: str) -> list[str]:
    """``**`` runs Markdown (CommonMark) would print as asterisks: in order they open and close, and an opening one
    must be left-flanking, a closing one right-flanking. In Chinese, "**看点：**此处" breaks the rule (a closing run
    after punctuation, before a letter); "**看点**：此处" keeps it."""
    import unicodedata

    def punct(c: str) -> bool:
        return c != "" and unicodedata.category(c)[0] in "PS"

    def space(c: str) -> bool:
        return c == "" or c.isspace()

    bad, opening = [], True
    for m in re.finditer(r"(?<!\*)\*\*(?!\*)", text):
        prev = text[m.start() - 1] if m.start() else ""
        nxt = text[m.end()] if m.end() < len(text) else ""
        left = not space(nxt) and (not punct(nxt) or space(prev) or punct(prev))
        right = not space(prev) and (not punct(prev) or space(nxt) or punct(nxt))
        if not (left if opening else right):
            bad.append(text[max(0, m.start() - 12):m.end() + 12])
        opening = not opening
    return bad


def test_bold_in_the_translations_renders():
    assert _bold_that_does_not_render("**看点：**此处") and not _bold_that_does_not_render("**看点**：此处")
    bad = {s[:40]: b for strings in _catalog().values() for s in strings if (b := _bold_that_does_not_render(s))}
    assert not bad, bad
