"""The Theory page's sections that read the project's records (the algorithms' registry, the measured
table, the Omniglot anchors, the session's run) and its longer texts; the page lays them out."""

from __future__ import annotations

import json

import streamlit as st

from leo_core.algorithms import ALGORITHMS, algorithm_notes
from leo_core.i18n import N_, _
from leo_core.page_settings import PAGE_SETTINGS

from . import state as app_state
from .markdown import markdown_table
from .measured import OMNIGLOT_JSON, TABLE_COMMAND, load_measured, omniglot_anchors, omniglot_notes

__all__ = ["algorithms", "measured", "omniglot", "references", "your_run"]


def _plain(text: str) -> str:
    """Plain-text formulas (``theta_{j+1}``, ``a * b``) shown literally, not as Markdown emphasis."""
    for ch in ("\\", "_", "*", "[", "]", "<", ">"):
        text = text.replace(ch, "\\" + ch)
    return text


def _t(text: str) -> str:
    """``text`` from a record (the registry, a results file) in the reader's language, where the catalog has it."""
    return _(text) if text else text


def algorithms() -> None:
    st.header(_("The algorithms, one by one"))
    st.markdown(_("Every algorithm learns an initialization (and, for some, more); at meta-test each adapts to "
                  "a new task from its support set and is scored on its query set, so the Compare page can put "
                  "them side by side on the same tasks."))
    for key, algo in ALGORITHMS.items():
        st.subheader(_t(algo.title))
        st.markdown(f"`{key}` — " + _plain(_t(algo.summary)))
        st.caption(_("Reference: {citation}").format(citation=_t(algo.citation)))
        with st.expander(_("How this implementation differs from the paper")):
            st.text(_t(algorithm_notes(algo)))


def measured() -> None:
    st.header(_("Measured: every algorithm at its recommended settings"))
    rows, meta = load_measured()
    if not rows:
        st.info(_("No measured table in this copy of the project: run `python bench/table.py` to make one."))
        return
    st.markdown(_(
        "Each algorithm trained {iterations} meta-iterations (seed {seed}) at "
        "the recommended settings of its family (`leo_core/data/recommended.json`: α, k, β and its own knobs, "
        "found by `bench/recommend.py`), then adapted on 300 fresh test tasks (classification: 5-way 1-shot). Regression: "
        "query MSE, lower is better; classification: accuracy, higher is better; ± is the 95% interval. "
        "Produced by `{command}` on a 2-core CPU; training seconds were measured on a shared machine.").format(
        iterations=f"{meta.get('iterations', 1500):,}", seed=meta.get('seed', 0), command=TABLE_COMMAND))
    families = list(dict.fromkeys(r.family for r in rows))
    choice = PAGE_SETTINGS["theory"]["theory_family"]
    st.session_state.setdefault(choice.name, families[0])
    family = st.segmented_control(_(choice.label), families, key=choice.name, help=_(choice.help))
    shown = [r for r in rows if r.family == (family or rows[0].family)]
    cls = shown[0].classification

    def fmt(v):
        return _("diverges") if v is None else f"{v:.3f}"

    table = [{_("algorithm"): r.algorithm, _("before adapting"): fmt(r.before), _("after 1 step"): fmt(r.after_1),
              _("after 10 steps"): fmt(r.after_10) + (f" ± {r.ci_10:.3f}" if r.ci_10 is not None else ""),
              **({_("10 steps, meta-training classes"): fmt(r.train_accuracy_10)} if cls else {}),
              _("note"): _flag(r.flag), _("training s"): round(r.train_seconds),
              _("settings"): f"`{r.settings}`" if r.settings else ""} for r in shown]
    # A markdown table, not st.dataframe: the same text, and the page needs no data-grid code (≈ 1.3 MB of
    # JavaScript, evaluated before the page was usable: bench/first_paint.py).
    st.markdown(markdown_table(table))
    st.markdown(_(_WHERE_NOT))


def _flag(flag: str) -> str:
    """The measured table's note ("does not beat random and pretrained", bench/table.py) in the reader's language."""
    head, missing = "does not beat ", " (baselines missing)"
    if not flag.startswith(head):
        return _t(flag)
    lost, note = flag[len(head):], ""
    if lost.endswith(missing):
        lost, note = lost[:-len(missing)], " " + _("(baselines missing)")
    names = lost.split(" and ")
    if len(names) > 1:
        lost = _("{first} and {last}").format(first=", ".join(names[:-1]), last=names[-1])
    return _("does not beat {baselines}").format(baselines=lost) + note


_WHERE_NOT = N_("""
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
""")


def omniglot() -> None:
    st.header(_("Omniglot: published figures beside ours"))
    rows = _omniglot_rows()
    if not rows:
        st.info(_("No Omniglot measurements yet: run `python bench/omniglot_anchors.py`."))
        return
    notes = omniglot_notes()
    st.markdown(_("Few-shot learning's standard benchmark (Lake et al. 2015): handwritten characters, each of four "
                  "rotations a class. The shipped checkpoints against the papers' figures. The protocols differ, so "
                  "read the rows as anchors, not as a reproduction."))
    st.markdown(markdown_table(rows))
    trained = notes["trained"]
    checkpoints = "; ".join(
        _("{name} {algorithm}, {iterations} iterations ({minutes} CPU-minutes), α {alpha}, k {k}, "
          "meta-batch {meta_batch}").format(name=k, algorithm=t["algorithm"], iterations=f"{t['iterations']:,}",
                                            minutes=f"{t['minutes']:.0f}", alpha=f"{t['alpha']:g}", k=t["k"],
                                            meta_batch=t["meta_batch"])
        for k, t in trained.items())
    st.caption(_("What differs: {differs}. Checkpoints: {checkpoints}. Written by `{command}`.").format(
        differs=_t(notes["differs"]), checkpoints=checkpoints, command=notes["command"]))


# The Omniglot record's prose (bench/results/omniglot.json), marked here so the catalog translates it; text a
# new record brings is shown as it is written until it is translated.
_RECORD_TEXT = (
    N_("MAML, conv net, 5-way 1-shot accuracy"), N_("MAML, conv net, 20-way 1-shot accuracy"),
    N_("MAML without convolutions, 5-way 1-shot"), N_("MAML without convolutions, 5-way 5-shot"),
    N_("people on the 20 one-shot runs"), N_("a deep convolutional network on the 20 runs"),
    N_("Finn, Abbeel, Levine 2017, Table 1"), N_("Lake, Salakhutdinov, Tenenbaum 2015"),
    N_("1,200 training characters (background and evaluation alphabets), 423 test characters, x 4 rotations; "
       "28x28; strided convolutions; one inner step (α 0.4), meta-batch 32; 3 steps at test"),
    N_("as above; 5 inner steps (α 0.1), meta-batch 16"), N_("784-256-128-64-64 with batch norm, same split"),
    N_("as above"), N_("20 runs of 20-way within-alphabet one-shot classification on evaluation alphabets"),
    N_("as above; trained on the background set"),
    N_("the background set only (964 characters, 30 alphabets), 8 whole alphabets (242 characters) held out, so "
       "722 training characters where the papers had 1,200; max-pooling instead of strided convolutions; "
       "meta-batch 16 (5-way) and 8 (20-way) and one inner step in training, to fit a CPU; test tasks of 15 query "
       "images per class, seed 1"),
)


def _omniglot_rows() -> list[dict[str, str]]:
    """``leo_app.measured.omniglot_anchors`` in the reader's language (the same text in English): its "ours"
    cells as they are, the published figures and protocols from the record's text through the catalog."""
    anchors = omniglot_anchors()
    if not anchors:
        return []
    rows = []
    for pub, anchor in zip(json.loads(OMNIGLOT_JSON.read_text())["published"], anchors):
        figure = pub["figure"]
        if figure.endswith(" error"):
            figure = _("{rate} error").format(rate=figure[:-len(" error")])
        rows.append({
            _("published"): _("{what}: **{figure}** ({source})").format(what=_t(pub["what"]), figure=figure,
                                                                        source=_t(pub["source"])),
            _("their protocol"): _t(pub["protocol"]),
            _("ours"): anchor["ours"],
        })
    return rows


def references() -> None:
    st.header(_("References"))
    st.markdown(
        _("- C. Finn, P. Abbeel, S. Levine. *Model-Agnostic Meta-Learning for Fast Adaptation of Deep Networks.* "
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
          "Learning.* NeurIPS 2016 (the 4-block conv net).")
    )


def your_run() -> None:
    snap = st.session_state.get(app_state.RUN_KEY)
    if snap is None or snap.config is None:
        return
    cfg = snap.config
    st.caption(_("Your current run (Train page): {family}, α = {alpha}, β = {beta}, k = {k}, "
                 "{iterations} meta-iterations, status: {status}.").format(
        family=cfg.family, alpha=f"{cfg.alpha:g}", beta=f"{cfg.beta:g}", k=cfg.k, iterations=f"{snap.iteration:,}",
        status=_(snap.status)))
