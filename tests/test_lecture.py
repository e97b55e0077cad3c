"""The Lecture page in AppTest: every chapter opens from ``?ch=N`` with its picture and no error, the buttons move
between chapters and the address follows, a chapter opens with its preset (and reopens the run it became),
the texts stay short in both languages, and the offline handout holds every chapter."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from helpers import charts, close_app, open_app
from leo_app.lecture import CHAPTERS
from leo_core.i18n import _, use_language
from leo_core.page_settings import LECTURE_CHAPTERS



def _open(chapter: int | None = None, **params: str) -> AppTest:
    return open_app("lecture", **({"ch": str(chapter)} if chapter else {}), **params)


def test_the_chapter_count_is_declared_once():
    assert len(CHAPTERS) == LECTURE_CHAPTERS
    assert len({c.key for c in CHAPTERS}) == len(CHAPTERS)


@pytest.mark.parametrize("n", range(1, len(CHAPTERS) + 1))
def test_each_chapter_opens_from_its_link_with_a_picture(n):
    at = _open(n)
    try:
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        assert at.session_state["ch"] == n
        assert at.query_params.get("ch") in (str(n), [str(n)]) or n == 1
        assert any(m.value.startswith(f"### {n} · ") for m in at.markdown), "the chapter's title"
        drawn = charts(at)
        if CHAPTERS[n - 1].key == "quiz":  # the characters are images; the chart comes with the reveal
            assert len(at.get("image")) >= 6, "five characters and the query"
        else:
            assert drawn, f"chapter {n} drew no chart"
    finally:
        close_app(at)


def test_next_and_previous_move_and_the_address_follows():
    at = _open(2)
    try:
        at.button(key="lecture_next").click().run()
        assert at.session_state["ch"] == 3
        assert at.query_params.get("ch") in ("3", ["3"])
        at.button(key="lecture_prev").click().run()
        at.button(key="lecture_prev").click().run()
        assert at.session_state["ch"] == 1
        assert at.button(key="lecture_prev").disabled
    finally:
        close_app(at)


def test_a_chapter_opens_with_its_preset_and_a_return_keeps_the_trained_run():
    at = _open(3)
    try:
        runner = at.session_state["leo_runner"]
        snap = runner.snapshot()
        assert snap.config is not None and snap.config.family == "sinusoid" and snap.iteration > 0
        first = runner.run_key
        at.button(key="lecture_prev").click().run()  # chapter 2: the linear preset
        assert runner.snapshot().config.family == "linear"
        at.button(key="lecture_next").click().run()  # back to 3: the same sinusoid run, not a fresh preset
        assert runner.run_key == first
        assert runner.snapshot().config.family == "sinusoid"
    finally:
        close_app(at)


def test_an_out_of_range_chapter_is_noted_and_clamped():
    at = _open(None, ch="99")
    try:
        assert not at.exception
        assert at.session_state["ch"] in (1, LECTURE_CHAPTERS)
        assert any("ch" in w.value for w in at.warning)
    finally:
        close_app(at)


def _english_words(text: str) -> int:
    return len(re.findall(r"[A-Za-z]+", text))


@pytest.mark.parametrize("ch", CHAPTERS, ids=lambda c: c.key)
def test_chapter_texts_are_short_in_both_languages(ch):
    assert _english_words(ch.text) <= 120, ch.key
    assert 1 <= len(ch.prompts) <= 2
    with use_language("zh"):
        zh = _(ch.text)
    assert zh != ch.text, "translated"
    assert len(re.findall(r"[\u4e00-\u9fff]", zh)) <= 240, "about two characters a word"


def test_the_handout_holds_every_chapter_in_chinese():
    from leo_app.lecture_handout import lecture_html

    page = lecture_html("zh")
    with use_language("zh"):
        titles = [_(c.title) for c in CHAPTERS]
    for n, title in enumerate(titles, start=1):
        assert f"id='ch{n}'" in page and title in page
    assert page.count("class='figure'") >= len(CHAPTERS)
    assert not re.search(r"<(script|link)[^>]+(src|href)=['\"]?https?:", page), "nothing fetched from a network"
    assert "data:font/woff;base64," in page
