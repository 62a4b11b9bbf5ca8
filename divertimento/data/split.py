"""Split by piece, never by window, so no piece leaks across train/val/test."""

import numpy as np

SPLITS = ("train", "val", "test")


def split_pieces(piece_styles: list[str], piece_keys: list[str], fractions: tuple[float, float, float],
                 seed: int) -> list[str]:
    """Split name per piece, stratified by style and deterministic for a seed.

    Pieces of a style are ordered by key, shuffled by ``seed`` and cut by the fractions; a style with three or
    more pieces always gets at least one validation and one test piece."""
    if abs(sum(fractions) - 1) > 1e-6 or min(fractions) < 0:
        raise ValueError(f"split fractions {fractions} must be >= 0 and sum to 1")
    out = ["train"] * len(piece_styles)
    for style in sorted(set(piece_styles)):
        idx = sorted((i for i, s in enumerate(piece_styles) if s == style), key=lambda i: piece_keys[i])
        rng = np.random.default_rng([seed, sum(map(ord, style))])
        idx = [idx[i] for i in rng.permutation(len(idx))]
        n = len(idx)
        n_val = int(round(n * fractions[1]))
        n_test = int(round(n * fractions[2]))
        if n >= 3:
            n_val, n_test = max(n_val, 1 if fractions[1] > 0 else 0), max(n_test, 1 if fractions[2] > 0 else 0)
        for i in idx[:n_val]:
            out[i] = "val"
        for i in idx[n_val : n_val + n_test]:
            out[i] = "test"
    return out
