"""The lecture's chapters, as data: title, a short text (≤ 120 words), "try this" prompts, what each opens with,
and which live picture it draws (``leo_app.lecture_view.PICTURES``).

Every text is marked for the message catalog (``N_``) and shown translated (``_``). A chapter opens with its
preset (a shipped checkpoint loaded as the session's run, as ``?preset=`` does) and the settings in ``state``,
applied when the reader arrives at the chapter; ``page`` is where the same picture has every control.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from leo_core.i18n import N_
from leo_core.page_settings import LECTURE_CHAPTERS

__all__ = ["Chapter", "CHAPTERS", "chapter"]


@dataclass(frozen=True)
class Chapter:
    key: str  # the picture drawn (leo_app.lecture_view.PICTURES) and the chapter's stable name
    title: str
    text: str  # Markdown, at most 120 words
    prompts: tuple[str, ...]  # one or two "try this" lines
    page: str  # the app page with this picture's every control (a path and query)
    preset: str | None = None  # the shipped checkpoint the chapter opens with, as the session's run
    state: Mapping[str, Any] = field(default_factory=dict)  # widget values set on arrival
    wide: bool = False  # the picture takes the page's width (the text above it), not two thirds (text beside it)
    trains: bool = False  # its picture is the live training view: Continue and Pause beside the prompts


CHAPTERS: tuple[Chapter, ...] = (
    Chapter(
        "quiz", N_("You try: five new characters, one example each"),
        N_("Below are five handwritten characters from alphabets the model **never saw** in meta-training, one "
           "example of each, and a sixth drawing: which of the five is it? Decide as a room, then reveal the "
           "model's answer. It answers twice: from its meta-learned initialization θ₀ alone, which knows no "
           "labels of this task and sits near one chance in five, and after **one gradient step** on the five "
           "examples. That single step is the whole idea of this lecture: learn an initialization from which "
           "a few steps on a few examples suffice."),
        (N_("Play three rounds: who scores more, the room or the model?"),
         N_("Switch to “Draw your own”: draw five symbols of your own and a sixth like one of them.")),
        "/adaptation?preset=maml-omniglot", preset=None),
    Chapter(
        "document", N_("The source document's example: a line, two parameters"),
        N_("Each task is a line y = θ₀ + θ₁x with a few noisy points. With two parameters the whole parameter "
           "space fits on the screen. Each task's loss is a bowl around its own optimum (the crosses). "
           "Pretraining minimises the average loss (the diamond). MAML minimises J(θ₀), the loss **after** k "
           "inner steps of α from θ₀, and walks θ₀ to J's minimum (the ring) by the meta-gradient, here exact. "
           "Below, each algorithm's step at θ₀ as an arrow: the first-order ones point elsewhere."),
        (N_("Raise k in the sidebar: J's minimum moves away from the diamond."),
         N_("Play the arrows along θ₀'s path: which update turns away from leo's as θ₀ nears J's minimum?")),
        "/landscape?preset=document-linear", preset="document-linear"),
    Chapter(
        "sinusoid", N_("Learning to adapt: MAML on sinusoids"),
        N_("Finn et al.'s first experiment: every task is a sine wave with its own amplitude and phase, seen "
           "through ten points. A network trained on all of them at once learns their average: a flat line. "
           "MAML instead learns a θ₀ from which **one step** on ten points bends the curve to the task. Beside "
           "this text: the query loss of θ₀ alone and after k steps while meta-training runs; below it, θ₀ "
           "(dashed) and its adaptation (thick) on three fixed tasks."),
        (N_("Press Continue and watch the gap between the two curves open: θ₀ gets worse alone, better adapted."),
         N_("Show 10 steps in the fits below the curve: they keep improving beyond the one step θ₀ was trained "
            "for.")),
        "/?preset=maml-sinusoid", preset="maml-sinusoid", trains=True),
    Chapter(
        "objective", N_("Support or query: what J is measured on"),
        N_("The source document writes J on the same points the task adapted on, the support set. The papers "
           "score the adapted model on held-out query points. Both initializations here were meta-trained "
           "with the same settings (five points, five steps), one on each objective. On a new task, the "
           "support objective's adaptation chases its five points; the query objective's generalises. The "
           "table gives the query error of both over many tasks."),
        (N_("Play the animation: which fit passes through the support points, and which follows the curve?"),
         N_("Pick another task seed: is the difference the same on every task?")),
        "/adaptation?preset=query-matters", preset=None),
    Chapter(
        "order", N_("First or second order: cost and direction"),
        N_("MAML differentiates through the k inner steps, so its meta-gradient contains second derivatives "
           "(Hessian-vector products). First-order MAML drops them; Reptile moves θ₀ towards the adapted "
           "parameters; iMAML solves for the implicit gradient. The bars give each update's cosine with the "
           "true meta-gradient at θ₀ of a sinusoid network, and the table the time per meta-iteration, "
           "measured here. With few small steps the approximations agree; with more or larger steps they part."),
        (N_("Raise k to 10: which approximation turns away first?"),
         N_("Lower α to 0.001: why do all the cosines approach 1?")),
        "/landscape?preset=maml-sinusoid", preset="maml-sinusoid"),
    Chapter(
        "beyond", N_("Beyond MAML: learned steps, implicit gradients, reused features, latent codes"),
        N_("Meta-SGD learns a step size for every parameter. iMAML replaces backpropagation through the inner "
           "loop by an implicit gradient, at a cost independent of k. ANIL adapts only the last layer and "
           "reuses the features below. Latent LEO adapts a low-dimensional code that a decoder turns into "
           "weights. Race them: every entry meta-trains at its recommended settings on the same tasks, in turn, "
           "and the chart shows each one's query loss after adaptation as it learns."),
        (N_("Start the race; switch the x axis to seconds: who is fastest per second, not per iteration?"),
         N_("Add reptile and pretrained to the race: how close does plain pretraining come?")),
        "/compare?race=leo,meta-sgd,imaml,anil,leo-latent&race_family=sinusoid", preset=None,
        state=MappingProxyType({"race": ["leo", "meta-sgd", "imaml", "anil", "leo-latent"],
                                "race_family": "sinusoid", "race_iterations": 1000}), wide=True),
    Chapter(
        "baseline", N_("When meta-learning does not win"),
        N_("Chen et al. (2019) trained one classifier on all meta-training classes, then fine-tuned only a new "
           "last layer on each task: their Baseline matched or beat several meta-learners. Our measured table "
           "says the same on handwritten digits: the bars give each method's accuracy on new tasks after ten "
           "steps. The pale bars are the same on tasks of classes seen in meta-training: a method that gains "
           "much there and little on new classes has memorised its classes rather than learned to adapt."),
        (N_("Which meta-learners does the Baseline beat on digits? Which beat it?"),
         N_("Find the method with the largest gap between seen and new classes.")),
        "/theory", preset=None),
    Chapter(
        "omniglot", N_("Real characters: Omniglot and the conv net"),
        N_("Omniglot is the benchmark every meta-learning paper reports: 1,623 characters from 50 alphabets, "
           "20 drawings each. The network is the papers' four-layer conv net. Here one 5-way 1-shot task from "
           "alphabets held out of meta-training adapts step by step from the meta-learned θ₀: each query "
           "image with the class the model gives it before and after adaptation, and the accuracy per step."),
        (N_("Pick another task seed: how often is one step enough?"),
         N_("Compare with the random initialization: what does meta-learning buy on a new alphabet?")),
        "/adaptation?preset=maml-omniglot", preset="maml-omniglot"),
)

assert len(CHAPTERS) == LECTURE_CHAPTERS, "leo_core.page_settings.LECTURE_CHAPTERS names the chapters' number"


def chapter(number: int) -> Chapter:
    """Chapter ``number`` (1-based), clamped to the lecture."""
    return CHAPTERS[max(1, min(len(CHAPTERS), int(number))) - 1]
