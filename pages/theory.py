"""Theory page: the source document's algorithm, its real name, and the choices the app offers."""

from __future__ import annotations

import streamlit as st

from leo_app import state as app_state
from leo_app import theory_view as view
from leo_core.i18n import _



def _algorithm() -> None:
    st.header(_("The algorithm"))
    st.markdown(
        _("A model $f_\\theta$ with parameters $\\theta$ and a distribution of related tasks $\\mathcal{T}_i$. "
          "Each task has a small training (**support**) set $D_i^{\\text{train}}$ and a test (**query**) set "
          "$D_i^{\\text{test}}$; $\\mathcal{L}_i$ is the task's loss (mean squared error for regression).")
    )
    st.markdown(_("**Inner loop — adaptation.** From the shared initialization $\\theta_0$, each task takes $k$ "
                  "plain gradient steps of size $\\alpha$ on its support loss:"))
    st.latex(r"\theta^{i}_{j+1} \;=\; \theta^{i}_{j} \;-\; \alpha\,\nabla_\theta \mathcal{L}_i\big(\theta^{i}_{j}\big),"
             r"\qquad j = 0,\dots,k-1,\qquad \theta^{i}_{0} = \theta_0 .")
    st.markdown(_("**Meta-objective.** A task scores the initialization by the loss *after* adaptation; the "
                  "meta-objective averages that over a meta-batch of $n$ tasks:"))
    st.latex(r"J_i(\theta_0) \;=\; \mathcal{L}_i\big(\theta^{i}_{k}\big), \qquad "
             r"J(\theta_0) \;=\; \frac{1}{n}\sum_{i=1}^{n} J_i(\theta_0).")
    st.markdown(_("**Outer loop — meta-update.** Move the initialization downhill on $J$, differentiating "
                  "*through* the $k$ inner steps:"))
    st.latex(r"\theta_0 \;\leftarrow\; \theta_0 \;-\; \beta\,\nabla_{\theta_0} J(\theta_0).")
    st.markdown(_("By the chain rule every inner step contributes a Jacobian, so the meta-gradient of one task is"))
    st.latex(r"\nabla_{\theta_0} J_i \;=\; \Big[\prod_{j=0}^{k-1}\big(I - \alpha\,\nabla^2_\theta "
             r"\mathcal{L}_i(\theta^{i}_{j})\big)\Big]\;\nabla_\theta \mathcal{L}_i\big(\theta^{i}_{k}\big).")
    st.markdown(
        _("The Hessians $\\nabla^2\\mathcal{L}_i$ make this **second order**. The code never forms them; it "
          "multiplies them by vectors. What runs: for the MLP without batch norm (every regression and 2-D family, "
          "digits) the whole meta-gradient is written out by hand (`leo_core/analytic.py`): the $k$ steps "
          "forward, then the product above backward, each Hessian-vector product by Pearlmutter's R-operator, with "
          "no autograd graph. For the other networks (the conv net, batch norm, the line's two parameters) the "
          "code keeps the graph of each inner gradient (`create_graph=True`) and lets reverse-mode autodiff "
          "compute the same products; the tests check the two against each other and against finite "
          "differences. **Meta-test**: on a new task, start from $\\theta_0$, take $k$ (or more) steps on its "
          "support set, and measure the loss on its query set.")
    )


def _worked_example() -> None:
    st.header(_("The document's worked example: a line"))
    st.markdown(_("With $f_\\theta(x) = \\theta_0 + \\theta_1 x$ (here $\\theta_0,\\theta_1$ are the two parameters) "
                  "and mean squared error on $N$ support points, the gradient has a closed form:"))
    st.latex(r"\mathcal{L}(\theta) = \frac{1}{N}\sum_{m=1}^{N}\big(\theta_0 + \theta_1 x_m - y_m\big)^2,\qquad "
             r"\nabla\mathcal{L} = \frac{2}{N}\sum_{m=1}^{N}\big(\theta_0 + \theta_1 x_m - y_m\big)"
             r"\begin{pmatrix}1\\ x_m\end{pmatrix}.")
    st.markdown(_("Its Hessian $\\frac{2}{N}\\sum_m (1, x_m)^\\top(1, x_m)$ is constant, so each inner step is an "
                  "affine map and the whole meta-objective can be drawn exactly in the $(\\theta_0, \\theta_1)$ "
                  "plane — the task family **linear** in the app."))


def _choices() -> None:
    st.header(_("Choices the app lets you make"))
    st.markdown(
        _("**Outer loss on the query set or the support set.** The source document evaluates $J_i$ on the "
          "same training data the task adapted on. Then $J$ rewards an initialization from which $k$ steps "
          "*memorise* the support points, not one that generalises within the task; with a flexible model and "
          "enough steps the support loss can be driven near zero while the fit between the points is poor. "
          "Standard practice (Finn et al. 2017) scores the adapted model on held-out **query** data, "
          "$J_i(\\theta_0) = \\mathcal{L}_{D_i^{\\text{test}}}(\\theta_k^i)$. The app defaults to the query set and "
          "offers the document's literal variant (*Outer loss on: support set*) so a lecture can compare them.")
    )
    st.markdown(
        _("**First-order approximation.** Dropping the Hessian terms, i.e. treating each inner gradient as a "
          "constant, gives $\\nabla_{\\theta_0} J_i \\approx \\nabla_\\theta \\mathcal{L}_i(\\theta_k^i)$: the "
          "gradient at the adapted parameters is applied to $\\theta_0$. It costs about as much as ordinary "
          "training and is often nearly as good (Finn et al. 2017, §5.2; Nichol et al. 2018). In the app: "
          "algorithm `leo-fo` or the *First-order approximation* switch.")
    )
    # The words inside the formula are translated on their own (a formula's braces are no placeholders).
    st.latex(r"\nabla_{\theta_0} J_i \;\approx\; \nabla_\theta \mathcal{L}_i\big(\theta^{i}_{k}\big)"
             r"\qquad(\text{" + _("first order:") + r" } \nabla^2 \mathcal{L}_i \text{ " + _("treated as")
             + r" } 0).")
    st.markdown(
        _("**Outer optimizer.** The document's update is plain gradient descent with step $\\beta$ (*sgd*). "
          "The app defaults to Adam with learning rate $\\beta$, MAML's standard choice.")
    )


def _meta_gradients() -> None:
    st.header(_("Four updates of θ₀, side by side"))
    st.markdown(
        _("The **Landscape** page draws, for the linear family, the exact meta-objective $J(\\theta_0)$ as contours, "
          "the path $\\theta_0$ took during meta-training, and at the current $\\theta_0$ one arrow per algorithm: "
          "the update $-g$ each one hands the outer optimizer, computed by its own meta-step on **the same** "
          "meta-batch. The arrows are drawn at one length (their norms are in the legend); the cosine with the true "
          "meta-gradient says how well each direction agrees with it. For networks the arrows live in thousands of "
          "dimensions, so the page shows only the cosines."))
    st.markdown(_("**`leo` — the true meta-gradient** (second order), perpendicular to $J$'s contours:"))
    st.latex(r"g_{\text{leo}} = \frac1n\sum_i \Big[\prod_{j=0}^{k-1}\big(I - \alpha H_i(\theta^i_j)\big)\Big]"
             r"\nabla \mathcal{L}^{\text{query}}_i\big(\theta^i_k\big),\qquad H_i = \nabla^2\mathcal{L}^{\text{support}}_i .")
    st.markdown(_("**`leo-fo` — first order** drops the Jacobian $\\prod_j(I-\\alpha H_i)$:"))
    st.latex(r"g_{\text{fo}} = \frac1n\sum_i \nabla \mathcal{L}^{\text{query}}_i\big(\theta^i_k\big)"
             r"\;=\; g_{\text{leo}} + O(\alpha k) .")
    st.markdown(_("The product differs from $I$ by terms of order $\\alpha k\\,\\|H\\|$, so with $k = 1$ and "
                  "$\\alpha \\to 0$ the two arrows coincide (cosine → 1); with large $\\alpha$ or many steps they "
                  "part. For the line, $H$ is constant: the product is $(I-\\alpha H_i)^k$ exactly."))
    st.markdown(_("**`reptile`** moves θ₀ towards the adapted weights, $g_{\\text{rep}} = -\\frac1n\\sum_i(\\theta^i_k - "
                  "\\theta_0) = \\frac{\\alpha}{n}\\sum_i\\sum_{j<k}\\nabla\\mathcal{L}_i(\\theta^i_j)$. Nichol et al. "
                  "(2018) expand the expected updates in $\\alpha$ for $k = 2$ steps on two mini-batches of one "
                  "task, with $\\bar g_j$, $\\bar H_j$ the gradient and Hessian of batch $j$ at $\\theta_0$:"))
    st.latex(r"\begin{aligned}\mathbb{E}[g_{\text{leo}}] &= \text{AvgGrad} - 2\alpha\,\text{AvgGradInner} + O(\alpha^2)\\"
             r"\mathbb{E}[g_{\text{fo}}] &= \text{AvgGrad} - \alpha\,\text{AvgGradInner} + O(\alpha^2)\\"
             r"\mathbb{E}[g_{\text{rep}}] &= 2\,\text{AvgGrad} - \alpha\,\text{AvgGradInner} + O(\alpha^2)\end{aligned}"
             r"\qquad \text{AvgGradInner} = \mathbb{E}[\bar H_1 \bar g_2] = \tfrac12\,\nabla_{\theta_0}\,"
             r"\mathbb{E}[\bar g_1\!\cdot\!\bar g_2].")
    st.markdown(_("AvgGrad $= \\mathbb{E}[\\bar g]$ is joint training's gradient; the $-\\alpha\\,$AvgGradInner term, descended, "
                  "**increases the inner product of gradients from different batches of one task**, so a step on one "
                  "batch also helps the other — the part that generalises within a task. All three contain the same "
                  "two terms with different weights: Reptile's expected update is MAML's gradient plus a multiple of "
                  "joint training's and of that inner-product term, and agrees with it in direction only to "
                  "leading order. With $k = 1$ Reptile is only joint training ($\\alpha\\nabla\\mathcal{L}^{\\text{support}}$), "
                  "with $k = 0$ it does not move. (The app's Reptile takes its $k$ steps on one support set, not on "
                  "separate mini-batches, so the picture shows the idea, not the formula term by term.)"))
    st.markdown(_("**`imaml`** replaces the $k$-step path by the proximal problem "
                  "$\\phi_i = \\arg\\min_\\phi \\mathcal{L}^{\\text{support}}_i(\\phi) + \\tfrac{\\lambda}{2}\\|\\phi - "
                  "\\theta_0\\|^2$ and differentiates its stationarity condition (Rajeswaran et al. 2019):"))
    st.latex(r"g_{\text{imaml}} = \frac1n\sum_i \Big(I + \tfrac{1}{\lambda}\nabla^2\mathcal{L}^{\text{support}}_i"
             r"(\phi_i)\Big)^{-1}\nabla\mathcal{L}^{\text{query}}_i(\phi_i).")
    st.markdown(_("It is **exact for the proximal meta-objective** whatever path reached $\\phi_i$ — but that is a "
                  "different objective from the $k$-step $J$ drawn on the page, so its arrow need not be "
                  "perpendicular to $J$'s contours; it is close when $\\alpha k \\approx 1/\\lambda$ and the inner "
                  "problem is nearly solved. (Here $\\phi_i$ comes from $k$ gradient steps and the inverse from a "
                  "few conjugate-gradient steps, so both are approximate.) **`pretrained`** is the gradient of the "
                  "plain average loss — perpendicular to the right panel's contours instead."))
    st.caption(_("Not drawn: Meta-SGD (its step sizes start at α, where its θ₀ direction is leo's exactly), the "
                 "latent variant (it learns a code decoded into θ₀, not θ₀) and the random baseline (it never moves)."))


def _naming() -> None:
    st.header(_("A note on the name “LEO”"))
    st.info(
        _("The algorithm above is **MAML**, *Model-Agnostic Meta-Learning* (Finn, Abbeel & Levine, ICML 2017). "
          "In the literature the name **LEO** belongs to *Latent Embedding Optimization* (Rusu et al., ICLR "
          "2019), which adapts in a learned low-dimensional latent space rather than in parameter space. "
          "Rajeswaran et al. (NeurIPS 2019) is **iMAML**, *Meta-Learning with Implicit Gradients*. The source "
          "document attributes LEO to Rajeswaran et al. 2019, which mixes these up. This app keeps the name "
          "LEO for the document's algorithm — so `leo` here means MAML — and says so wherever it matters."),
        icon=":material/info:",
    )
    st.markdown(_("The algorithms and baselines in this app are described one by one below."))


def main() -> None:
    if app_state.run_inside_app():  # a link straight to this page on a fresh server
        return
    st.title(_("Theory"))
    st.markdown(_("What the app computes, in the source document's notation, and how it relates to the literature."))
    view.your_run()
    _algorithm()
    _worked_example()
    _choices()
    _meta_gradients()
    _naming()
    view.algorithms()
    view.measured()
    view.omniglot()
    view.references()


app_state.show_errors(main)
