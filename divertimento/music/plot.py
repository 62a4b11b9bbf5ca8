"""Piano-roll pictures: one colour per track, onsets marked so repeated notes are visible."""

import os

import numpy as np

from .notes import DURATION, PITCH, START, Piece

COLOURS = ("#d1495b", "#edae49", "#00798c", "#30638e", "#6a4c93", "#8ac926")


def _draw(ax, piece: Piece, title: str | None) -> None:
    # one collection per track, not one artist per note: a 32-bar four-voice piece has hundreds of notes, and
    # matplotlib spends milliseconds on each artist it adds
    from matplotlib.collections import LineCollection, PolyCollection

    lo, hi = 127, 0
    for i, t in enumerate(piece.tracks):
        c = COLOURS[i % len(COLOURS)]
        if len(t.notes):
            x0, y = t.notes[:, START].astype(float), t.notes[:, PITCH].astype(float)
            x1 = x0 + t.notes[:, DURATION] - 0.15
            boxes = np.stack([np.c_[x0, y - 0.4], np.c_[x1, y - 0.4], np.c_[x1, y + 0.4], np.c_[x0, y + 0.4]], axis=1)
            ax.add_collection(PolyCollection(boxes, facecolors=c, linewidths=0))
            onsets = np.stack([np.c_[x0, y - 0.45], np.c_[x0, y + 0.45]], axis=1)
            ax.add_collection(LineCollection(onsets, colors="black", linewidths=0.6))
            lo, hi = min(lo, int(t.notes[:, PITCH].min())), max(hi, int(t.notes[:, PITCH].max()))
    if lo > hi:
        lo, hi = 55, 79
    n_steps = max(piece.n_steps, 1)
    ax.set_xlim(0, n_steps)
    ax.set_ylim(lo - 2, hi + 2)
    bar = int(piece.bars[0, 1]) if len(piece.bars) else 4 * piece.steps_per_quarter
    for x in range(0, n_steps + 1, max(bar, 1)):
        ax.axvline(x, color="#888", lw=0.6)
    for p in range(lo - 2, hi + 3):
        if p % 12 == 0:
            ax.axhline(p, color="#ccc", lw=0.4)
    ax.set_yticks([p for p in range(lo - 2, hi + 3) if p % 12 == 0])
    ax.set_yticklabels([f"C{p // 12 - 1}" for p in range(lo - 2, hi + 3) if p % 12 == 0], fontsize=7)
    ax.set_xticks([])
    if title:
        ax.set_title(title, fontsize=8)


def write_pianoroll_png(piece: Piece, path: str | os.PathLike, title: str | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3), dpi=100)
    _draw(ax, piece, title or piece.title)
    fig.tight_layout()
    tmp = f"{path}.tmp.png"
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)


def write_grid_png(pieces: list[Piece], path: str | os.PathLike, columns: int = 4) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = int(np.ceil(len(pieces) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 2 * rows), dpi=80, squeeze=False)
    for ax, piece in zip(axes.flat, pieces):
        _draw(ax, piece, piece.title)
    for ax in list(axes.flat)[len(pieces):]:
        ax.axis("off")
    fig.tight_layout()
    tmp = f"{path}.tmp.png"
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)
