"""Calibrating a critic's logits into log density ratios, and what its held-out judgements say.

Platt scaling (Platt 1999): p(real | s) = sigmoid(a * s + b), (a, b) minimising the binary cross-entropy on
held-out scores. With balanced classes, a * s + b is then the critic's estimate of log p_data(x) / p_model(x).
Platt's smoothed targets, (N+ + 1) / (N+ + 2) for positives and 1 / (N- + 2) for negatives, keep (a, b) finite
when the critic separates the held-out sets perfectly: the ratio is then as large as the evidence allows, not
infinite.
"""

import torch
import torch.nn.functional as F


def fit_platt(scores: torch.Tensor, labels: torch.Tensor, steps: int = 200) -> tuple[float, float]:
    """(a, b) minimising mean BCE(sigmoid(a * scores + b), smoothed labels) by Newton's method (a two-parameter
    logistic regression: convex, and Newton converges in a handful of steps)."""
    s, y = scores.double(), labels.double()
    n_pos, n_neg = float(y.sum()), float((1 - y).sum())
    y = torch.where(y > 0.5, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    a, b = torch.tensor(1.0, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64)
    for _ in range(steps):
        p = torch.sigmoid(a * s + b)
        g = torch.stack([((p - y) * s).mean(), (p - y).mean()])
        w = p * (1 - p)
        h = torch.stack([torch.stack([(w * s * s).mean(), (w * s).mean()]),
                         torch.stack([(w * s).mean(), w.mean()])]) + 1e-9 * torch.eye(2, dtype=torch.float64)
        delta = torch.linalg.solve(h, g)
        a, b = a - delta[0], b - delta[1]
        if delta.abs().max() < 1e-10:
            break
    return float(a), float(b)


def two_sample_figures(scores: torch.Tensor, labels: torch.Tensor, a: float, b: float) -> dict:
    """Held-out accuracy of the critic (0.5 = it cannot tell the sets apart: the classifier two-sample test) and
    its cross-entropy before and after calibration, in nats."""
    logits = a * scores + b
    return {"accuracy": round(float(((logits > 0).float() == labels).float().mean()), 4),
            "bce_raw": round(float(F.binary_cross_entropy_with_logits(scores, labels)), 4),
            "bce_calibrated": round(float(F.binary_cross_entropy_with_logits(logits, labels)), 4)}
