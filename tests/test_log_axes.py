"""Every log axis the app draws reads as its values: a projector must never show "4 3 2 1 9 8 7" (plotly's bare
mantissas) under a chart whose values run from 0.2 to 4. Each figure builder with a log axis is built on values
below and above 1, and its tick labels must be the numbers at their ticks."""

from __future__ import annotations

import math

import pytest

from figures.compare import shots_figure, steps_figure
from figures.race import race_curve_figure
from figures.style import log_axis
from figures.training import loss_curve_figure
from leo_core.evaluate import EvalResult
from leo_core.views.race import RaceCurve

LOSSES = [4.1, 2.3, 1.1, 0.62, 0.41, 0.30, 0.26, 0.24, 0.235, 0.234, 0.233]  # the race evaluation of issue 26


def _result(losses) -> EvalResult:
    return EvalResult(loss_by_step=list(losses), ci95_by_step=[0.02] * len(losses), tasks=100, shots=10,
                      steps=len(losses) - 1)


def _log_axes(fig) -> list[tuple[str, dict]]:
    layout = fig.to_dict()["layout"] if hasattr(fig, "to_dict") else fig["layout"]
    return [(name, ax) for name, ax in layout.items() if name[1:5] == "axis" and ax.get("type") == "log"]


BUILT = {
    "steps (race evaluation, Compare)": lambda: steps_figure(["leo", "reptile"], [_result(LOSSES), _result(
        [v * 1.4 for v in LOSSES])]),
    "shots (Compare)": lambda: shots_figure(["leo"], [1, 5, 10], [[_result(LOSSES[:3]), _result(LOSSES[:5]),
                                                                   _result(LOSSES)]]),
    "race curve (Compare)": lambda: race_curve_figure([RaceCurve("leo", tuple(range(1, 12)), tuple(float(i) for i in
                                                       range(11)), tuple(LOSSES))]),
    "training curve (Train)": lambda: loss_curve_figure({
        "iteration": list(range(1, 12)), "pre_loss": [v * 3 for v in LOSSES], "post_loss": LOSSES,
        "meta_loss": LOSSES, "grad_norm": [1.0] * 11, "its_per_sec": [1.0] * 11, "elapsed": [1.0] * 11}),
}


@pytest.mark.parametrize("name", list(BUILT))
def test_a_log_axis_is_labelled_with_its_values(name):
    axes = _log_axes(BUILT[name]())
    assert axes, f"{name}: no log axis"
    for axis_name, ax in axes:
        vals, text = ax.get("tickvals"), ax.get("ticktext")
        assert vals and text and len(vals) == len(text), f"{name} {axis_name}: plotly's own ticks ({ax})"
        assert all(math.isclose(float(t), v, rel_tol=1e-9) for t, v in zip(text, vals)), (name, axis_name, text)
        shown = [v for v in vals if min(LOSSES) <= v <= max(LOSSES) * 3]
        assert len(shown) >= 3 and any(v < 1 for v in shown), (name, axis_name, text)


def test_log_axis_labels_values_below_one_in_full():
    axis = log_axis([0.233, 4.1])
    assert axis["type"] == "log" and "0.5" in axis["ticktext"] and "0.2" in axis["ticktext"] and "2" in axis["ticktext"]
