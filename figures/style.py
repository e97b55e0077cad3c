"""The figures' shared style: fonts, colours, the base layout, log ticks, thinning, animation controls.

Figures are meant for a projector: large fonts, thick lines, a legend above the plot. They are
rebuilt several times a second during training while the training thread competes for the GIL,
so traces are plain dicts assembled without plotly's per-property validation (``_validate=False``,
about 6x cheaper; the tests re-validate every figure), the loss curve is thinned to at most
``MAX_POINTS`` points per line, and there is no subplot helper (``make_subplots`` costs tens of ms).
"""

from __future__ import annotations

import math
import textwrap
from typing import Any, Sequence

import plotly.graph_objects as go

from leo_core.i18n import _

__all__ = ["MAX_POINTS", "FONT_SIZE", "LINE_WIDTH", "TICK_FONT", "TITLE_FONT", "COLORS", "thin", "smooth", "figure",
           "base_layout", "log_ticks", "chance_line", "empty_figure", "step_animation_controls", "animation_controls"]

MAX_POINTS = 300  # per line on the loss chart: enough for a smooth curve on a projector, cheap to send
FONT_SIZE = 18  # readable from the back of a lecture hall
# plotly's own family, then the app's Chinese font (served by the app, leo_app/fonts.py; embedded in handouts).
FONT_FAMILY = '"Open Sans", verdana, arial, "LEO CJK", sans-serif'
LINE_WIDTH = 4
TICK_FONT = {"size": FONT_SIZE - 2}
TITLE_FONT = {"size": FONT_SIZE}
COLORS = {
    "pre": "#d62728",  # before adaptation (θ₀ alone)
    "post": "#1f77b4",  # after k inner steps
    "true": "#222222",
    "support": "#ff7f0e",
}


def smooth(values: Sequence[float], weight: float = 0.9) -> list[float]:
    """Debiased exponential moving average (as TensorBoard draws it); NaN/inf points are skipped."""
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"weight must be in [0, 1), got {weight}")
    out, avg, norm = [], 0.0, 0.0
    for v in values:
        if v is not None and math.isfinite(v):
            avg = weight * avg + (1 - weight) * v
            norm = weight * norm + (1 - weight)
        out.append(avg / norm if norm > 0 else float("nan"))
    return out


def thin(n: int, max_points: int = MAX_POINTS) -> list[int]:
    """Indices of at most ``max_points`` of ``n`` points, evenly spread, always keeping the last."""
    if n <= max_points:
        return list(range(n))
    stride = math.ceil(n / max_points)
    idx = list(range(0, n, stride))
    if idx[-1] != n - 1:
        idx.append(n - 1)
    return idx


def figure(traces: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    return go.Figure(data=traces, layout=layout, _validate=False)


def base_layout(**extra: Any) -> dict[str, Any]:
    layout = dict(
        font=dict(size=FONT_SIZE, family=FONT_FAMILY),
        margin=dict(l=70, r=20, t=70, b=60),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0, font=dict(size=FONT_SIZE)),
        uirevision="keep",  # keep the user's zoom across live updates
    )
    layout.update(extra)
    return layout


# Tick mantissas per decade, coarse to fine: the first that puts three ticks inside the data is used
# (a loss that falls from 2.9 to 1.6 would otherwise get one label, "2").
_LOG_MANTISSAS = ((1, 2, 5), (1, 1.5, 2, 3, 5, 7), (1, 1.2, 1.4, 1.6, 1.8, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 9))


def log_ticks(values: Sequence[float | None]) -> dict[str, Any]:
    """Tick values for a log axis spanning ``values`` (1, 2, 5 per decade, finer over a narrow range),
    labelled in full ("0.5", not plotly's "5").

    Returns ``tickvals``/``ticktext``, or ``{}`` (plotly's own ticks) when fewer than two positive
    finite values are given.
    """
    vals = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    if len(vals) < 2:
        return {}
    lo, hi = min(vals), max(vals)
    decades = range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
    for mantissas in _LOG_MANTISSAS:
        ticks = [t for t in (m * 10.0 ** e for e in decades for m in mantissas) if lo / 1.5 <= t <= hi * 1.5]
        if sum(lo <= t <= hi for t in ticks) >= 3:
            break
    if len(ticks) < 2:
        return {}
    return {"tickvals": ticks, "ticktext": [f"{t:g}" for t in ticks]}


def log_axis(values: Sequence[float | None]) -> dict[str, Any]:
    """A log axis's ``type`` and ticks for ``values``: every log axis of the app is made here, so its tick
    labels read as their values ("0.2", "0.5", "1", "2"; never plotly's bare mantissas "2 5 1 2")."""
    ticks = log_ticks(values)
    if not ticks:  # fewer than two values yet (a race's first points): label a decade either side of them
        finite = [v for v in values if v is not None and math.isfinite(v) and v > 0]
        centre = 10 ** round(math.log10(finite[0])) if finite else 1.0
        ticks = log_ticks([centre / 10, centre * 10])
    return {"type": "log", **ticks}


def chance_line(ways: int) -> dict[str, list]:
    """``shapes`` and ``annotations`` for a layout: a dashed line at chance accuracy, 100/ways %."""
    chance = 100.0 / ways
    return {
        "shapes": [dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=chance, y1=chance,
                        line=dict(color="#555", width=2, dash="dash"))],
        "annotations": [dict(text=_("chance (1/{ways})").format(ways=ways), xref="paper", x=1, xanchor="right", yref="y", y=chance,
                             yanchor="bottom", showarrow=False, font=dict(size=FONT_SIZE - 2, color="#555"))],
    }


PLACEHOLDER = "leo_placeholder"  # layout.meta key of an empty_figure: the app draws its message without plotly.js


def empty_figure(message: str, height: int = 420) -> go.Figure:
    """A blank figure with a centred message (before any data), wrapped to fit a half-width column (Chinese, whose
    characters are twice as wide, at half as many characters). Its ``layout.meta`` marks it, so the app's chart
    component shows the message as text (``leo_app.live_chart``)."""
    wide = any(ord(c) >= 0x2E80 for c in message)
    wrapped = "<br>".join(textwrap.wrap(message, 18 if wide else 36))
    return figure([], base_layout(
        height=height, xaxis=dict(visible=False), yaxis=dict(visible=False), meta={PLACEHOLDER: True},
        annotations=[dict(text=wrapped, showarrow=False, font=dict(size=FONT_SIZE + 2, color="#666"),
                          xref="paper", yref="paper", x=0.5, y=0.5)],
    ))


def animation_controls(labels: Sequence[str], *, frame_ms: int, redraw: bool, y: float, prefix: str,
                       start_at_end: bool = False) -> dict[str, list]:
    """Play/pause buttons and a slider for a figure whose frames are named ``labels``.

    Returns ``{"updatemenus": …, "sliders": …}`` to merge into a layout; ``y`` places both below the
    plot (paper coordinates), ``redraw`` is needed when frames change heatmaps rather than lines.
    ``start_at_end``: the figure shows its last frame, and play replays from the first.
    """
    def go_to(names, duration: int, fromcurrent: bool = True) -> list:
        return [names, dict(frame=dict(duration=duration, redraw=redraw), transition=dict(duration=0),
                            fromcurrent=fromcurrent, mode="immediate")]

    return {
        "updatemenus": [dict(
            type="buttons", direction="left", x=0, y=y, xanchor="left", yanchor="top", showactive=False,
            font=dict(size=FONT_SIZE - 2), pad=dict(t=10, r=10),
            buttons=[dict(label=_("▶ play"), method="animate",
                          args=go_to(None, frame_ms, fromcurrent=not start_at_end)),
                     dict(label=_("❚❚ pause"), method="animate", args=go_to([None], 0))],
        )],
        "sliders": [dict(
            active=len(labels) - 1 if start_at_end else 0, x=0.25 if start_at_end else 0.2,
            len=0.75 if start_at_end else 0.8, y=y, yanchor="top", pad=dict(t=10),
            # The current value sits at the slider's right end, clear of the play/pause buttons at its left.
            currentvalue=dict(prefix=prefix, xanchor="right", font=dict(size=FONT_SIZE)), font=dict(size=FONT_SIZE - 4),
            steps=[dict(label=lab, method="animate", args=go_to([lab], 0)) for lab in labels],
        )],
    }


def step_animation_controls(steps: int, *, frame_ms: int, redraw: bool, y: float) -> dict[str, list]:
    """``animation_controls`` for frames named "0" … "steps", one per inner step."""
    return animation_controls([str(j) for j in range(steps + 1)], frame_ms=frame_ms, redraw=redraw, y=y,
                              prefix=_("inner step "))
