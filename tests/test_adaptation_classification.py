"""One classification task adapted step by step: metrics, pictures and the animation's frames."""

from __future__ import annotations

import pytest

from leo_core.views import adaptation as ad
from leo_core.views import adaptation_classification as ac
from figures.adaptation_classification import regions_animation_figure, step_accuracy_figure
from leo_core.views.classification_preview import stage_accuracy
from leo_core.train import make_family, make_model

from helpers import tiny_config


def _setup(family: str):
    cfg = tiny_config(family=family, ways=3, shots=2)
    fam = make_family(cfg)
    model = make_model(fam, cfg)
    return fam, model, ad.random_start(model, 0)


@pytest.mark.parametrize("family", ["points2d", "digits"])
def test_step_metrics_adaptation_raises_support_accuracy(family):
    fam, model, start = _setup(family)
    task = ac.sample_task(fam, 2, seed=1)
    assert task.x_support.shape[:2] == (1, 3 * 2)
    m = ac.step_metrics(model, fam, start, task, alpha=0.5, steps=30)
    assert len(m.query_accuracy) == len(m.support_loss) == 31
    assert m.support_accuracy[-1] > m.support_accuracy[0]
    assert m.support_loss[-1] < m.support_loss[0]
    # Same numbers as the preview's batched accuracy at step 0 (an independent code path).
    theta = {k: v.unsqueeze(0) for k, v in start.meta_params.items()}
    assert m.query_accuracy[0] == pytest.approx(float(stage_accuracy(model, [theta], task.x_query, task.y_query)[0, 0]),
                                                abs=1e-4)


def test_regions_animation_has_one_frame_per_step():
    fam, model, start = _setup("points2d")
    task = ac.sample_task(fam, 2, seed=0)
    panels = [ac.regions_by_step(model, fam, s, task, 0.3, 3, resolution=8)
              for s in (start, ad.Start("meta", "θ₀", start.algorithm, start.meta_params))]
    fig = regions_animation_figure(panels)
    assert len(fig.frames) == 4
    assert [t.type for t in fig.data].count("heatmap") == 2
    assert len(fig.frames[2].data[0].z) == 8
    assert all(len(f.layout.annotations) == 2 for f in fig.frames)  # panel titles with that step's accuracy
    acc = step_accuracy_figure([ac.step_metrics(model, fam, start, task, 0.3, 3)], ways=3)
    assert len(acc.data) == 4 and acc.layout.shapes[0].y0 == pytest.approx(100 / 3)


def test_shown_stages_and_bad_input():
    assert ac.shown_stages(10, 3) == [0, 1, 3, 10]
    assert ac.shown_stages(0, 5) == [0]
    fam, _, _ = _setup("sinusoid")
    with pytest.raises(ValueError, match="regression"):
        ac.sample_task(fam, 2, seed=0)


def test_a_start_with_its_own_step_ignores_the_pages_step():
    """A baseline's Start carries its recommended α: adapted at the page's α it gives the numbers of a
    page-α start adapted at that α, and differs from the page's own α."""
    fam, model, start = _setup("points2d")
    task = ac.sample_task(fam, 2, seed=1)
    own = ad.random_start(model, 0, alpha=0.5)
    assert own.label == "random init (α 0.5)" and own.step(0.01) == 0.5 and start.step(0.01) == 0.01
    at_own = ac.step_metrics(model, fam, own, task, alpha=0.01, steps=5)
    at_page = ac.step_metrics(model, fam, start, task, alpha=0.5, steps=5)
    assert at_own.support_loss == at_page.support_loss
    assert at_own.support_loss != ac.step_metrics(model, fam, start, task, alpha=0.01, steps=5).support_loss
