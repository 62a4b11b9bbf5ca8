"""The draw probabilities of a pool of the proposal's own windows, tilted by a critic: the distribution a guided
sampler draws from as its K candidates grow without bound, q(x | c) * exp(beta * l(x, c)) / Z_c, where l is the
critic's calibrated log-ratio estimate log p_data / q and c the window's condition (style and meter).

A pool drawn from q at the data's condition shares, resampled with these probabilities, is a sample of that
tilted distribution (importance resampling): each condition keeps its share of the pool, and within it a window
is drawn with probability softmax(beta * l). beta = 0 gives every window the same probability, the proposal's own
distribution."""

import torch


def tilted_draw_probabilities(log_ratio: torch.Tensor, conditions: torch.Tensor, beta: float) -> torch.Tensor:
    """Probabilities [N] (summing to 1) of drawing each pool window, from its log-ratio [N] and condition [N]:
    within a condition softmax(beta * log_ratio), times the condition's share of the pool."""
    scores = beta * log_ratio.double()
    probs = torch.empty_like(scores)
    for c in conditions.unique():
        rows = conditions == c
        probs[rows] = torch.softmax(scores[rows], dim=0) * rows.sum() / len(scores)
    return probs


def effective_share(probs: torch.Tensor, conditions: torch.Tensor) -> float:
    """Kish's effective sample size of the tilted pool as a share of its size: per condition (sum w)^2 / sum w^2
    over the condition's n windows, summed over conditions and divided by N. 1 = no tilt; 1/n per condition =
    one window drawn every time."""
    total = 0.0
    for c in conditions.unique():
        w = probs[conditions == c]
        total += float(w.sum() ** 2 / (w**2).sum())
    return total / len(probs)
