"""Style metrics: the mix of styles among generated windows, by the style classifier trained on the reference data
(registered in the group ``style``)."""

import numpy as np

from .context import Context
from .registry import register
from .share_correction import adjusted_shares


def _predicted_styles(ctx: Context):
    def run():
        m = ctx.ref.style_model
        if m is None:
            return None
        return m.predict(ctx.stats.vectors)
    return ctx.once("styles", run)


@register("style/shares")
def style_shares(ctx: Context):
    """Share of each style among generated windows (``share/<style>``, by the style classifier trained on the
    reference data's train split) next to the reference shares (``ref_share/<style>``); ``tv_distance`` =
    (1/2) sum |share - ref_share| (0 = same mix, 1 = disjoint); ``missing_styles`` = reference styles with at
    least 1 % of the data but under 1 % of the generated windows (mode dropping). With one style the shares are
    trivially 1 and no classifier is used.

    The raw votes carry the classifier's own errors, and the reference split's mix is not the one models draw by.
    So, where the classifier has a held-out confusion matrix: ``adjusted/<style>`` = the mix that best explains
    the votes given those errors (``share_correction.adjusted_shares``), ``draw_share/<style>`` = the training data's
    shares (what an unconditioned draw follows), ``adjusted_tv_distance`` = (1/2) sum |adjusted - draw_share| and
    ``max_share_error`` = max over styles of |adjusted - draw_share| / draw_share."""
    names = ctx.ref.style_names
    ref_sh = ctx.ref.style_shares()
    if not names or ref_sh is None:
        ctx.notes.append("style: the reference has no style labels")
        return {}
    pred = _predicted_styles(ctx)
    if pred is None:
        present = [i for i, s in enumerate(ref_sh) if s > 0] or [0]
        pred = np.full(ctx.n, present[0])
        if ctx.ref.style_note and ctx.ref.style_note not in ctx.notes:
            ctx.notes.append(ctx.ref.style_note)
    gen_sh = np.bincount(pred, minlength=len(names)) / max(ctx.n, 1)
    ctx.per_window["style_pred"] = pred
    out = {f"share/{n}": float(gen_sh[i]) for i, n in enumerate(names)}
    out.update({f"ref_share/{n}": float(ref_sh[i]) for i, n in enumerate(names)})
    out["tv_distance"] = float(0.5 * np.abs(gen_sh - ref_sh).sum())
    out["missing_styles"] = float(((ref_sh >= 0.01) & (gen_sh < 0.01)).sum())
    draw = ctx.ref.draw_shares()
    confusion = getattr(ctx.ref.style_model, "confusion", None)
    if confusion is not None and draw is not None:
        adj = adjusted_shares(gen_sh, confusion)
        out.update({f"adjusted/{n}": float(adj[i]) for i, n in enumerate(names)})
        out.update({f"draw_share/{n}": float(draw[i]) for i, n in enumerate(names)})
        out["adjusted_tv_distance"] = float(0.5 * np.abs(adj - draw).sum())
        present = draw > 0
        out["max_share_error"] = float((np.abs(adj - draw)[present] / draw[present]).max())
    return out


@register("style/classifier_accuracy")
def classifier_accuracy(ctx: Context):
    """Held-out accuracy (``accuracy``) and balanced accuracy (mean per-style recall, ``balanced``) of the style
    classifier on the reference data's val + test windows: how far ``style/shares`` can be trusted."""
    m = ctx.ref.style_model
    if m is None:
        return {}
    return {"accuracy": m.accuracy, "balanced": m.balanced_accuracy}


@register("style/conditioning_accuracy")
def conditioning_accuracy(ctx: Context):
    """Share of generated windows the classifier assigns to the style they were generated for (only for model
    samples, whose requested style is known); compare with ``style/classifier_accuracy``."""
    pred = _predicted_styles(ctx)
    if pred is None or ctx.gen.style is None or ctx.gen.style_names is None:
        return {}
    names = ctx.ref.style_names
    want = np.array([names.index(ctx.gen.style_names[s]) if s >= 0 and ctx.gen.style_names[s] in names else -1
                     for s in ctx.gen.style])
    ok = want >= 0
    return float((pred[ok] == want[ok]).mean()) if ok.any() else {}
