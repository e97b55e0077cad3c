"""The lecture's "You try" (chapter 1): the room against the meta-learned model (``leo_core.views.quiz``).

- ``quiz()``: five held-out Omniglot characters and a sixth drawing of one of them; the room picks with five
  buttons, then the model's answer is revealed from θ₀ alone and after adaptation, and a running score is kept
  (room vs model, in ``st.session_state``) until "Next round".
- ``draw_your_own()``: six canvases (``streamlit-drawable-canvas``): five symbols of the room's own, one example
  each, and a sixth like one of them; the model adapts on the five and names the sixth.

The checkpoint is the shipped 5-way 1-shot MAML preset, loaded once per server (``presets.load_preset``); an
answer takes a few tens of milliseconds on the CPU, so it is computed in the script run.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import streamlit as st

from figures.style import COLORS, FONT_SIZE, base_layout, figure
from leo_core.i18n import _, ngettext
from leo_core.views import quiz as qz

from . import state as app_state
from .presets import load_preset

__all__ = ["quiz", "draw_your_own", "PRESET", "ROUND_KEY", "PICK_KEY", "SCORE_KEY", "DRAW_KEY", "DRAW_ANSWER_KEY",
           "CANVAS_PX", "STROKE_PX"]

PRESET = "maml-omniglot"  # 5-way 1-shot, α 0.4, k 1
ROUND_KEY = "quiz_round"  # the round shown (from 1)
PICK_KEY = "_quiz_pick"  # (round, the room's pick) once the room has picked
SCORE_KEY = "_quiz_score"  # {"room": n, "model": n, "rounds": [rounds scored]}
DRAW_KEY = "_quiz_draw_generation"  # the canvases' generation: "Clear" starts a new one (empty canvases)
DRAW_ANSWER_KEY = "_quiz_draw_answer"  # (the drawings' fingerprint, Answer) of the last "Adapt and predict"
TILE_SCALE = 4  # a 28×28 character shown at 112 px (140 px in presentation mode)
CANVAS_PX = 140
STROKE_PX = 8  # thick enough on a projector; scaled into the 28×28 frame it is about as wide as a stored stroke


@st.cache_data(show_spinner=False, max_entries=256)
def _round_answer(round_: int) -> qz.Answer:
    return qz.answer(load_preset(PRESET), qz.quiz_task(round_))


def _tile(image: Any, scale: int | None = None) -> np.ndarray:
    """A stored character (uint8, 255 = ink) as black ink on white, enlarged ``scale``× with crisp pixels."""
    scale = scale or (TILE_SCALE + 1 if app_state.presenting() else TILE_SCALE)
    pixels = 255 - np.asarray(image, dtype=np.uint8)
    return np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)


def _percent(p: float) -> str:
    """A probability as a percentage: whole percent, one decimal from p = 0.99 on (never a rounded-up hundred short
    of certainty)."""
    return f"{100 * p:.1f}%" if 0.99 <= p < 0.9995 else f"{100 * p:.0f}%"


def _probabilities_figure(result: qz.Answer, correct: int | None, height: int = 300):
    """Grouped bars: the model's probability of each symbol from θ₀ alone and after adaptation."""
    ways = len(result.after)
    labels = [str(i + 1) for i in range(ways)]
    after = ngettext("after {n} adaptation step", "after {n} adaptation steps", result.steps).format(n=result.steps)
    traces = [
        dict(type="bar", x=labels, y=list(result.before), name=_("θ₀ alone (before adaptation)"),
             marker=dict(color="#bbbbbb"), hovertemplate="%{x}: %{y:.0%}<extra></extra>"),
        dict(type="bar", x=labels, y=list(result.after), name=after, marker=dict(color=COLORS["post"]),
             hovertemplate="%{x}: %{y:.0%}<extra></extra>"),
    ]
    shapes = []
    if correct is not None:
        shapes.append(dict(type="rect", xref="x", yref="paper", x0=correct - 0.5, x1=correct + 0.5, y0=0, y1=1,
                           fillcolor="#1a9641", opacity=0.12, line=dict(width=0), layer="below"))
    layout = base_layout(
        height=height, barmode="group", bargap=0.25, margin=dict(l=70, r=20, t=50, b=60), shapes=shapes,
        xaxis=dict(title=_("symbol"), type="category"),
        yaxis=dict(title=_("probability"), range=[0, 1.05], tickformat=".0%"),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0, font=dict(size=FONT_SIZE - 2)),
    )
    return figure(traces, layout)


def _model_lines(result: qz.Answer) -> str:
    """The model's two answers in words: from θ₀ alone and after adaptation."""
    before = _("From θ₀ alone the model says **{symbol}** (confidence {confidence}).").format(
        symbol=result.prediction_before + 1, confidence=_percent(result.confidence_before))
    after = ngettext("After {n} adaptation step on the support set it says **{symbol}** (confidence {confidence}).",
                     "After {n} adaptation steps on the support set it says **{symbol}** (confidence {confidence}).",
                     result.steps).format(n=result.steps, symbol=result.prediction + 1,
                                          confidence=_percent(result.confidence))
    return f"{before}  \n{after}"


# -- the quiz ------------------------------------------------------------------------------------------------------


def _score() -> dict[str, Any]:
    return st.session_state.setdefault(SCORE_KEY, {"room": 0, "model": 0, "rounds": []})


def _pick(round_: int, choice: int) -> None:
    """The room's pick (a button's callback): kept, and scored once per round."""
    st.session_state[PICK_KEY] = (round_, choice)
    score = _score()
    if round_ in score["rounds"]:
        return
    task = qz.quiz_task(round_)
    score["room"] += int(choice == task.answer)
    score["model"] += int(_round_answer(round_).prediction == task.answer)
    score["rounds"] = [*score["rounds"], round_]


def _next_round() -> None:
    st.session_state[ROUND_KEY] = int(st.session_state.get(ROUND_KEY, 1)) + 1
    st.session_state.pop(PICK_KEY, None)


def _reset_score() -> None:
    st.session_state[SCORE_KEY] = {"room": 0, "model": 0, "rounds": []}


def quiz(container: Any = st) -> None:
    """One round of the quiz: the five support characters and the query, five buttons for the room's pick, then
    the model's answer before and after adaptation, who was right, and the running score."""
    round_ = int(st.session_state.setdefault(ROUND_KEY, 1))
    try:
        task = qz.quiz_task(round_)
    except ValueError as exc:
        container.error(str(exc))
        return
    picked = st.session_state.get(PICK_KEY)
    choice = picked[1] if picked is not None and picked[0] == round_ else None
    score = _score()
    played = len(score["rounds"])
    container.markdown(
        _("**Round {round}.** Which of the five is the drawing on the right? One example of each, from alphabets "
          "the model never saw in meta-training.").format(round=round_))
    cols = container.columns([1, 1, 1, 1, 1, 0.25, 1.2])
    for i in range(task.ways):
        with cols[i]:
            st.image(_tile(task.support[i]))
            st.button(f"**{i + 1}**", key=f"quiz_pick_{i + 1}", on_click=_pick, args=(round_, i), width="stretch",
                      type="primary" if choice == i else "secondary", disabled=choice is not None)
    with cols[-1].container(border=True):
        st.image(_tile(task.query), caption=_("Which one is this?"))
    if choice is None:
        container.caption(_("Decide as a room, then press its number to reveal the model's answer."))
    else:
        _reveal(container, task, choice, _round_answer(round_))
    line = ngettext("Score after {n} round: the room {room}, the model {model}.",
                    "Score after {n} rounds: the room {room}, the model {model}.", played).format(
        n=played, room=score["room"], model=score["model"])
    row = container.container(horizontal=True, vertical_alignment="center")
    row.button(_("Next round"), key="quiz_next", on_click=_next_round, type="primary" if choice is not None else
               "secondary", icon=":material/arrow_forward:")
    row.button(_("Reset the score"), key="quiz_reset", on_click=_reset_score, disabled=not played)
    row.markdown(f"**{line}**" if played else _("No round played yet."))


def _reveal(container: Any, task: qz.QuizTask, choice: int, result: qz.Answer) -> None:
    correct = task.answer
    room = (_("The room picked **{picked}**: right!") if choice == correct
            else _("The room picked **{picked}**: wrong.")).format(picked=choice + 1)
    model = _("The model: right.") if result.prediction == correct else _("The model: wrong.")
    where = qz.alphabet_title(task.alphabets[correct])
    truth = (_("It was symbol **{symbol}** ({alphabet}).").format(symbol=correct + 1, alphabet=where) if where
             else _("It was symbol **{symbol}**.").format(symbol=correct + 1))
    text, chart = container.columns([2, 3])
    text.markdown(f"{truth}  \n{room}  \n{_model_lines(result)}  \n**{model}**")
    app_state.chart(_probabilities_figure(result, correct), "quiz-probabilities", key="quiz_chart", where=chart)


# -- draw your own -------------------------------------------------------------------------------------------------


def _clear() -> None:
    st.session_state[DRAW_KEY] = int(st.session_state.get(DRAW_KEY, 0)) + 1
    st.session_state.pop(DRAW_ANSWER_KEY, None)


def _fingerprint(images: list[Any]) -> str:
    digest = hashlib.sha1()
    for image in images:
        digest.update(np.asarray(image).tobytes())
    return digest.hexdigest()


def _drawn(result: Any) -> Any | None:
    """A canvas's drawing as a 28×28 character, or None while it is blank."""
    try:
        return qz.drawing_to_image(result.image_data)
    except (ValueError, RuntimeError, AttributeError):
        return None


def draw_your_own(container: Any = st) -> None:
    """Six canvases: five symbols of the room's own (one example each) and a sixth like one of them; "Adapt and
    predict" adapts the model on the five and names the sixth, with its probabilities before and after."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception as exc:  # a components-v2 package registers when the server starts; elsewhere it may not load
        container.error(_("The drawing canvases could not be loaded ({error}). They need the package "
                          "streamlit-drawable-canvas 0.13, installed before the app's server started.")
                        .format(error=type(exc).__name__))
        return
    generation = int(st.session_state.setdefault(DRAW_KEY, 0))
    container.markdown(_("Draw five different symbols, one in each of the first five boxes, then a sixth like one "
                         "of them. The model adapts on your five examples and says which one the sixth is."))
    cols = [*container.columns(3), *container.columns(3)]  # two rows: six 140 px canvases fit a narrow column
    images: list[Any | None] = []
    for i, col in enumerate(cols):
        with col:
            st.markdown(f"**{i + 1}**" if i < 5 else f"**{_('Query')}**")
            result = st_canvas(stroke_width=STROKE_PX, stroke_color="#000000", background_color="#ffffff",
                               height=CANVAS_PX, width=CANVAS_PX, drawing_mode="freedraw", return_image_data=True,
                               key=f"quiz_canvas_{generation}_{i}")
            images.append(_drawn(result))
    missing = [i for i, image in enumerate(images) if image is None]
    row = container.container(horizontal=True, vertical_alignment="center")
    pressed = row.button(_("Adapt and predict"), key="quiz_adapt", type="primary", disabled=bool(missing),
                         icon=":material/psychology:")
    row.button(_("Clear"), key="quiz_clear", on_click=_clear, icon=":material/delete:")
    if missing:
        names = ", ".join(str(i + 1) if i < 5 else _("the query") for i in missing)
        row.caption(ngettext("Still to draw: {boxes} ({n} box).", "Still to draw: {boxes} ({n} boxes).",
                              len(missing)).format(boxes=names, n=len(missing)))
        return
    fingerprint = _fingerprint(images)
    if pressed:
        try:
            result = qz.adapt_to_drawings(load_preset(PRESET), images[:5], images[5])
        except ValueError as exc:
            container.error(str(exc))
            return
        st.session_state[DRAW_ANSWER_KEY] = (fingerprint, result)
    kept = st.session_state.get(DRAW_ANSWER_KEY)
    if kept is None:
        row.caption(_("All six drawn: press “Adapt and predict”."))
        return
    if kept[0] != fingerprint:
        row.caption(_("The drawings changed since the last prediction: press “Adapt and predict” again."))
    result = kept[1]
    text, chart = container.columns([2, 3])
    text.markdown(_("The model says the query is symbol **{symbol}**.").format(symbol=result.prediction + 1)
                  + f"  \n{_model_lines(result)}")
    with text:
        st.caption(_("What the model sees (28×28, as the data set's characters):"))
        st.image([_tile(image, 2) for image in images], caption=[str(i + 1) for i in range(5)] + [_("Query")])
    app_state.chart(_probabilities_figure(result, None), "quiz-drawn-probabilities", key="quiz_draw_chart",
                    where=chart)
