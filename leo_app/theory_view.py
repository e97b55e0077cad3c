"""The Theory page's sections that read the project's records (the algorithms' registry, the measured
table, the Omniglot anchors, the session's run) and its longer texts; the page lays them out."""

from __future__ import annotations

import streamlit as st

from leo_core.algorithms import ALGORITHMS, algorithm_notes
from leo_core.page_settings import PAGE_SETTINGS

from . import state as app_state
from .markdown import markdown_table
from .measured import TABLE_COMMAND, load_measured, omniglot_anchors, omniglot_notes

__all__ = ["algorithms", "measured", "omniglot", "references", "your_run"]


def _plain(text: str) -> str:
    """Plain-text formulas (``theta_{j+1}``, ``a * b``) shown literally, not as Markdown emphasis."""
    for ch in ("\\", "_", "*", "[", "]", "<", ">"):
        text = text.replace(ch, "\\" + ch)
    return text


def algorithms() -> None:
    st.header("The algorithms, one by one")
    st.markdown("Every algorithm learns an initialization (and, for some, more); at meta-test each adapts to "
                "a new task from its support set and is scored on its query set, so the Compare page can put "
                "them side by side on the same tasks.")
    for key, algo in ALGORITHMS.items():
        st.subheader(algo.title)
        st.markdown(f"`{key}` — " + _plain(algo.summary))
        st.caption(f"Reference: {algo.citation}")
        with st.expander("How this implementation differs from the paper"):
            st.text(algorithm_notes(algo))


def measured() -> None:
    st.header("Measured: every algorithm at its recommended settings")
    rows, meta = load_measured()
    if not rows:
        st.info("No measured table in this copy of the project: run `python bench/table.py` to make one.")
        return
    st.markdown(
        f"Each algorithm trained {meta.get('iterations', 1500):,} meta-iterations (seed {meta.get('seed', 0)}) at "
        "the recommended settings of its family (`leo_core/data/recommended.json`: α, k, β and its own knobs, "
        "found by `bench/recommend.py`), then adapted on 300 fresh test tasks (classification: 5-way 1-shot). Regression: "
        "query MSE, lower is better; classification: accuracy, higher is better; ± is the 95% interval. "
        f"Produced by `{TABLE_COMMAND}` on a 2-core CPU; training seconds were measured on a shared machine.")
    families = list(dict.fromkeys(r.family for r in rows))
    choice = PAGE_SETTINGS["theory"]["theory_family"]
    st.session_state.setdefault(choice.name, families[0])
    family = st.segmented_control(choice.label, families, key=choice.name, help=choice.help)
    shown = [r for r in rows if r.family == (family or rows[0].family)]
    cls = shown[0].classification

    def fmt(v):
        return "diverges" if v is None else f"{v:.3f}"

    table = [{"algorithm": r.algorithm, "before adapting": fmt(r.before), "after 1 step": fmt(r.after_1),
              "after 10 steps": fmt(r.after_10) + (f" ± {r.ci_10:.3f}" if r.ci_10 is not None else ""),
              **({"10 steps, meta-training classes": fmt(r.train_accuracy_10)} if cls else {}),
              "note": r.flag, "training s": round(r.train_seconds), "settings": r.settings} for r in shown]
    # A markdown table, not st.dataframe: the same text, and the page needs no data-grid code (≈ 1.3 MB of
    # JavaScript, evaluated before the page was usable: bench/first_paint.py).
    st.markdown(markdown_table(table))
    st.markdown(_WHERE_NOT)


_WHERE_NOT = """
**Where a meta-learner does not win, and why** (read with the table above):

- **A fair baseline is strong on digits.** The pretrained baseline (Chen et al. 2019's *Baseline*) learns its
  body from all meta-training classes at once and only fine-tunes a new head per task: pure feature reuse.
  Raghu et al. (2020) found that MAML's strength is mostly feature reuse too, and Tian et al. (2020) that a
  good embedding with a linear head rivals meta-learners; Chen et al. found well-tuned baselines much closer
  to meta-learning than earlier papers reported. On this small MLP every meta-learner beats a random start,
  and the best of them only match or slightly pass the baseline.
- **Overfitting to the meta-training classes.** With 28 meta-training classes the meta-learned
  initializations score much higher on tasks from those classes than on the 12 held-out ones (the
  "meta-training classes" column): meta-learning can memorise its classes.
- **Meta-SGD past its k steps.** Li et al.'s signed per-parameter step sizes are learned for the k steps
  it trains with; iterated beyond them they overshoot (trained with the paper's k = 1, 10 steps diverge on
  every regression family; the first diverging step is reported). Training with more steps needs the steps
  to learn more slowly than θ₀: Adam moves every parameter by about β per iteration, a large change next to
  a step of 0.01. The recommended settings store each step as α/s (``meta_sgd_step_lr`` s = 0.1, so the
  steps learn 10× slower) and train with k = 5: 10 steps then stay finite on every family.
- **iMAML's proximal pull.** Its inner problem adds (λ/2)‖φ − θ₀‖², which keeps every task near θ₀: on the
  linear family that only holds φ back (the weakest λ wins, and ties), and on 1-shot points2d it ties the
  baseline. Its 10 "steps" are steps of that proximal solve, not plain SGD.
- **The linear family** has a quadratic loss: the pretrained optimum is already where a few exact steps
  from any sensible start lead, so meta-learning can only tie it.
- **Reptile with k = 1** is joint training (its update is then α times the average gradient); it needs
  several inner steps, and here takes them on the task's whole data, as Nichol et al. do.
"""


def omniglot() -> None:
    st.header("Omniglot: published figures beside ours")
    rows = omniglot_anchors()
    if not rows:
        st.info("No Omniglot measurements yet: run `python bench/omniglot_anchors.py`.")
        return
    notes = omniglot_notes()
    st.markdown("Few-shot learning's standard benchmark (Lake et al. 2015): handwritten characters, each of four "
                "rotations a class. The shipped checkpoints against the papers' figures. The protocols differ, so "
                "read the rows as anchors, not as a reproduction.")
    st.markdown(markdown_table(rows))
    trained = notes["trained"]
    st.caption(f"What differs: {notes['differs']}. Checkpoints: "
               + "; ".join(f"{k} {t['algorithm']}, {t['iterations']:,} iterations ({t['minutes']:.0f} CPU-minutes), "
                           f"α {t['alpha']:g}, k {t['k']}, meta-batch {t['meta_batch']}" for k, t in trained.items())
               + f". Written by `{notes['command']}`.")


def references() -> None:
    st.header("References")
    st.markdown(
        "- C. Finn, P. Abbeel, S. Levine. *Model-Agnostic Meta-Learning for Fast Adaptation of Deep Networks.* "
        "ICML 2017. arXiv:1703.03400.\n"
        "- A. A. Rusu, D. Rao, J. Sygnowski, O. Vinyals, R. Pascanu, S. Osindero, R. Hadsell. *Meta-Learning "
        "with Latent Embedding Optimization.* ICLR 2019. arXiv:1807.05960.\n"
        "- A. Rajeswaran, C. Finn, S. Kakade, S. Levine. *Meta-Learning with Implicit Gradients.* NeurIPS 2019. "
        "arXiv:1909.04630.\n"
        "- A. Nichol, J. Achiam, J. Schulman. *On First-Order Meta-Learning Algorithms.* arXiv:1803.02999, 2018.\n"
        "- Z. Li, F. Zhou, F. Chen, H. Li. *Meta-SGD: Learning to Learn Quickly for Few-Shot Learning.* "
        "arXiv:1707.09835, 2017.\n"
        "- B. M. Lake, R. Salakhutdinov, J. B. Tenenbaum. *Human-level concept learning through probabilistic "
        "program induction.* Science 350(6266), 2015 (Omniglot).\n"
        "- O. Vinyals, C. Blundell, T. Lillicrap, K. Kavukcuoglu, D. Wierstra. *Matching Networks for One Shot "
        "Learning.* NeurIPS 2016 (the 4-block conv net)."
    )


def your_run() -> None:
    snap = st.session_state.get(app_state.RUN_KEY)
    if snap is None or snap.config is None:
        return
    cfg = snap.config
    st.caption(f"Your current run (Train page): {cfg.family}, α = {cfg.alpha:g}, β = {cfg.beta:g}, k = {cfg.k}, "
               f"{snap.iteration:,} meta-iterations, status: {snap.status}.")
