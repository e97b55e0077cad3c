"""The meta-gradient view against references: the trainer's own update (same code path), the linear
family's closed-form meta-gradient, the first-order limit, and θ₀'s recorded path."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import plotly.graph_objects as go
import pytest
import torch

from figures.handout import page_html
from figures.meta_gradients import cosine_bar_figure, cosine_figure, meta_gradient_figure
from leo_core.checkpoint import load_checkpoint, save_checkpoint
from leo_core.config import TrainConfig
from leo_core.history import MetricHistory, ThetaPath
from leo_core.train import Trainer, make_family, make_model
from leo_core.views import meta_gradients as mg
from leo_app.url_state import LANDSCAPE_ALPHAS

from helpers import gen
from test_linear_closed_form import document_gradient, hessian

ARROWS = ("leo", "leo-fo", "reptile", "imaml")


def _linear(**overrides) -> TrainConfig:
    base = dict(family="linear", alpha=0.05, beta=0.01, k=2, shots=8, query=6, meta_batch=5, iterations=40,
                outer_optimizer="sgd", device="cpu", dtype="float64")
    return TrainConfig(**{**base, **overrides})


def _theta32(a: float, b: float) -> dict[str, torch.Tensor]:
    return {n: v.float() for n, v in _theta(a, b).items()}


def _theta(a: float, b: float) -> dict[str, torch.Tensor]:
    return {"theta0": torch.tensor([a], dtype=torch.float64), "theta1": torch.tensor([b], dtype=torch.float64)}


@pytest.mark.parametrize("key", ARROWS + ("pretrained",))
def test_each_arrow_is_the_trainers_own_update_on_that_meta_batch(key):
    """Train one SGD step with the algorithm: (θ₀ after − θ₀ before) / β must be the arrow drawn for it
    on the meta-batch the trainer sampled (replayed from a copy of its generator)."""
    cfg = _linear(algorithm=key, k=3)
    trainer = Trainer(cfg)
    for _ in range(5):  # somewhere away from the origin
        trainer.step()
    before = trainer.initialization()
    replay = torch.Generator().set_state(trainer.generator.get_state())
    batch = trainer.family.sample(cfg.meta_batch, cfg.shots, cfg.query, replay, "cpu", torch.float64)
    trainer.step()
    after = trainer.initialization()
    update = torch.cat([(after[n] - before[n]).reshape(-1) for n in before]) / cfg.beta
    arrows = {d.key: d for d in mg.directions(trainer.model, trainer.family, before, batch, cfg, [key])}
    assert torch.allclose(torch.tensor(arrows[key].vector, dtype=torch.float64), update, rtol=1e-9, atol=1e-10)


def test_the_leo_arrow_is_the_closed_form_meta_gradient():
    alpha, k = 0.07, 3
    cfg = _linear(alpha=alpha, k=k)
    family, model = make_family(cfg), make_model(make_family(cfg), cfg)
    batch = family.sample(5, 8, 6, gen(11), dtype=torch.float64)
    theta0 = torch.tensor([0.4, -0.3], dtype=torch.float64)
    grad = torch.zeros(2, dtype=torch.float64)
    for i in range(batch.n_tasks):
        xs, ys = batch.x_support[i, :, 0], batch.y_support[i, :, 0]
        xq, yq = batch.x_query[i, :, 0], batch.y_query[i, :, 0]
        jac = torch.linalg.matrix_power(torch.eye(2, dtype=torch.float64) - alpha * hessian(xs), k)
        theta = theta0.clone()
        for _ in range(k):
            theta = theta - alpha * document_gradient(theta, xs, ys)
        grad += jac.T @ document_gradient(theta, xq, yq) / batch.n_tasks
    leo = mg.directions(model, family, _theta(0.4, -0.3), batch, cfg, ["leo"])[0]
    assert leo.key == "leo" and leo.cosine == pytest.approx(1.0)
    assert torch.allclose(torch.tensor(leo.vector, dtype=torch.float64), -grad, atol=1e-12)
    assert leo.norm == pytest.approx(float(grad.norm()), rel=1e-12)


def test_first_order_agrees_as_alpha_goes_to_zero_with_one_step():
    cfg = _linear(k=1)
    family, model = make_family(cfg), make_model(family := make_family(cfg), cfg)
    batch = family.sample(5, 8, 6, gen(5), dtype=torch.float64)
    gaps = []
    for alpha in (0.3, 0.1, 0.03, 0.01, 0.001):
        d = {x.key: x for x in mg.directions(model, family, _theta(1.0, 0.5), batch, replace(cfg, alpha=alpha))}
        gaps.append(1 - d["leo-fo"].cosine)
    assert all(b < a for a, b in zip(gaps, gaps[1:])), gaps  # monotone
    assert gaps[-1] < 1e-6 and gaps[0] > 10 * gaps[-1]


def test_cosine_sweep_matches_single_directions_and_marks_zero_directions():
    cfg = _linear()
    family, model = make_family(cfg), make_model(make_family(cfg), cfg)
    batch = family.sample(4, 8, 6, gen(2), dtype=torch.float64)
    sweep = mg.cosine_sweep(model, family, _theta(0.2, 0.1), batch, cfg, 0.05, 2, (0.01, 0.05), (0, 1, 2))
    curves = {c.key: c.values for c in sweep.by_k}
    assert curves["reptile"][0] is None  # k = 0: Reptile does not move θ₀
    at = {d.key: d.cosine for d in mg.directions(model, family, _theta(0.2, 0.1), batch, replace(cfg, k=2))}
    for key in ARROWS:
        assert curves[key][2] == pytest.approx(at[key], abs=1e-12)
        assert {c.key: c.values for c in sweep.by_alpha}[key][1] == pytest.approx(at[key], abs=1e-12)
    assert all(v == pytest.approx(1.0) for v in curves["leo"])


def test_only_algorithms_that_ignore_alpha_and_k_are_computed_once_in_the_sweep():
    """``uses_inner_steps`` is what lets the sweep reuse a direction: it must be False exactly for the
    algorithms whose update at θ₀ does not change with α and k (here on a network, iMAML's solve and all)."""
    cfg = TrainConfig(family="sinusoid", hidden=(8,), shots=5, query=5, device="cpu", dtype="float64")
    family, model = make_family(cfg), make_model(make_family(cfg), cfg)
    theta0 = {n: v.to(torch.float64) for n, v in model.init(gen(0)).items()}
    batch = family.sample(3, 5, 5, gen(1), dtype=torch.float64)
    one, other = (mg.directions(model, family, theta0, batch, mg.direction_config(cfg, a, k), ARROWS)
                  for a, k in ((0.01, 1), (0.2, 4)))
    for a, b in zip(one, other):
        same = a.vector == b.vector
        assert same == (not mg.ALGORITHMS[a.key].uses_inner_steps), a.key
    reuse: dict = {}
    first = mg.directions(model, family, theta0, batch, mg.direction_config(cfg, 0.01, 1), ARROWS, reuse=reuse)
    assert set(reuse) == {"imaml"} and first == one
    again = mg.directions(model, family, theta0, batch, mg.direction_config(cfg, 0.2, 4), ARROWS, reuse=reuse)
    assert again == other


def test_recorded_path_is_the_trainers_theta_after_each_step():
    trainer = Trainer(_linear(iterations=30))
    expected = [(0, *(float(v) for v in torch.cat(list(trainer.initialization().values()))))]
    for _ in trainer:
        expected.append((trainer.iteration, *(float(v) for v in torch.cat(list(trainer.initialization().values())))))
    assert trainer.theta_path.points() == tuple(expected)


def test_the_path_survives_a_checkpoint_and_an_old_checkpoint_still_loads(tmp_path):
    trainer = Trainer(_linear(iterations=12))
    for _ in trainer:
        pass
    path = save_checkpoint(tmp_path / "new.pt", trainer.state_dict(), MetricHistory())
    ckpt = load_checkpoint(path)
    assert ckpt.theta_path == trainer.theta_path.points() and len(ckpt.theta_path) == 13
    resumed = Trainer(replace(ckpt.config, iterations=15))
    resumed.load_state_dict(ckpt.state)
    for _ in resumed:
        pass
    assert [p[0] for p in resumed.theta_path.points()] == list(range(16))
    # A checkpoint written before paths were recorded: no "theta_path" key.
    old = dict(trainer.state_dict())
    del old["theta_path"]
    ckpt_old = load_checkpoint(save_checkpoint(tmp_path / "old.pt", old, MetricHistory()))
    assert ckpt_old.theta_path is None
    loaded = Trainer(ckpt_old.config)
    loaded.load_state_dict(ckpt_old.state)
    assert loaded.theta_path.points() == (trainer.theta_path.points()[-1],)  # starts at the loaded θ₀


def test_networks_record_no_path():
    assert Trainer(TrainConfig(hidden=(4,), iterations=1, device="cpu")).theta_path is None


def test_path_decimates_beyond_capacity_keeping_start_and_newest():
    path = ThetaPath(capacity=8)
    for i in range(40):
        path.append(i, i, -i)
    pts = path.points()
    assert pts[0] == (0, 0.0, 0.0) and pts[-1] == (39, 39.0, -39.0) and len(pts) <= 10
    assert ThetaPath.from_state(path.state()).points() == pts


def test_linear_view_frames_follow_the_path_and_figures_validate(tmp_path):
    cfg = _linear(iterations=25, dtype="float32")
    trainer = Trainer(cfg)
    for _ in trainer:
        pass
    batch = trainer.family.sample(5, cfg.shots, 20, gen(0))
    data = mg.linear_meta_gradients(trainer.model, trainer.family, trainer.initialization(),
                                    trainer.theta_path.points(), batch, cfg, 0.05, 1, 21, 6)
    assert [f.iteration for f in data.frames] == [0, 5, 10, 15, 20, 25]
    assert data.frames[-1].theta0 == pytest.approx(trainer.theta_path.points()[-1][1:])
    assert [d.key for d in data.frames[0].directions] == ["leo", "leo-fo", "reptile", "imaml", "pretrained"]
    assert min(data.a) <= min(p[0] for p in data.path) and max(data.b) >= max(p[1] for p in data.path)
    fig = meta_gradient_figure(data)
    go.Figure(fig.to_dict())  # plotly validates every property
    names = [t.name for t in fig.data]
    assert any("path" in n for n in names)
    for key in ARROWS:
        assert any(n.startswith(key + " ") for n in names), (key, names)
    assert len(fig.frames) == 6 and fig.layout.sliders[0].active == 5
    sweep = mg.cosine_sweep(trainer.model, trainer.family, trainer.initialization(), batch, cfg, 0.05, 1,
                            (0.01, 0.1), (0, 1, 2))
    go.Figure(cosine_figure(sweep).to_dict())
    go.Figure(cosine_bar_figure(data.frames[-1].directions, n_params=2).to_dict())
    html = page_html("t", [("a", fig), ("b", cosine_figure(sweep))], [("k", "1")])
    assert html.count("Plotly.newPlot") == 2 and "<script src=" not in html  # plotly.js inline, once
    assert len(html) > 3_000_000 and html.count("plotly.js v") >= 1


def test_a_diverging_alpha_is_a_clear_error():
    cfg = _linear(alpha=50.0, k=20, dtype="float32")
    family, model = make_family(cfg), make_model(make_family(cfg), cfg)
    batch = family.sample(3, 8, 6, gen(0))
    with pytest.raises(ValueError, match="not finite"):
        mg.directions(model, family, _theta32(1.0, 1.0), batch, cfg)
    sweep = mg.cosine_sweep(model, family, _theta32(1.0, 1.0), batch, cfg, 50.0, 20, (50.0,), (20,))
    assert all(v is None or math.isfinite(v) for c in sweep.by_alpha for v in c.values)


@pytest.mark.parametrize("page_alpha", LANDSCAPE_ALPHAS)
def test_the_sweeps_alpha_labels_do_not_crowd(page_alpha):
    """Every α of the Landscape's sweep has a tick; labels only at the page's α and powers of ten, at least a
    factor 3 apart (all ten, 1-2-5 per decade, ran into each other in a half-width panel at 1440 px, and so did
    0.01 and 0.02)."""
    sweep = SimpleNamespace(alphas=LANDSCAPE_ALPHAS, ks=(0, 1), alpha=page_alpha, k=1, by_alpha=(), by_k=())
    axis = cosine_figure(sweep).layout.xaxis
    assert list(axis.tickvals) == list(LANDSCAPE_ALPHAS)
    shown = [a for a, text in zip(axis.tickvals, axis.ticktext) if text]
    assert page_alpha in shown and len(shown) >= 3
    assert all(b / a >= 3 - 1e-9 for a, b in zip(shown, shown[1:])), shown
    assert [t for t in axis.ticktext if t] == [f"{a:g}" for a in shown]
