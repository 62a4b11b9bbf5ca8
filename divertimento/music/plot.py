"""Piano-roll pictures: one colour per track, onsets marked so repeated notes are visible."""

import os

import numpy as np

from .lanes import DRUM_FAMILY, DRUM_FAMILY_NAMES
from .notes import DURATION, PITCH, START, Piece

DRUM_ROW = 3.0  # height of a drum family's row, in semitones of the pitch axis
COLOURS = ("#d1495b", "#edae49", "#00798c", "#30638e", "#6a4c93", "#8ac926")


def _draw(ax, piece: Piece, title: str | None) -> None:
    # one collection per track, not one artist per note: a 32-bar four-voice piece has hundreds of notes, and
    # matplotlib spends milliseconds on each artist it adds
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.patches import Patch

    pitched = [t for t in piece.tracks if len(t.notes) and not t.is_drum]
    lo = min((int(t.notes[:, PITCH].min()) for t in pitched), default=55)
    hi = max((int(t.notes[:, PITCH].max()) for t in pitched), default=79)
    drum_row = lo - 3  # drum hits get one row per family under the pitched notes: kick lowest
    drums = any(t.is_drum and len(t.notes) for t in piece.tracks)
    for i, t in enumerate(piece.tracks):
        c = COLOURS[i % len(COLOURS)]
        if not len(t.notes):
            continue
        x0 = t.notes[:, START].astype(float)
        if t.is_drum:
            y = drum_row - DRUM_ROW * (len(DRUM_FAMILY_NAMES) - 1 - DRUM_FAMILY[t.notes[:, PITCH]]).astype(float)
            x1 = x0 + 0.8
        else:
            y, x1 = t.notes[:, PITCH].astype(float), x0 + t.notes[:, DURATION] - 0.15
        boxes = np.stack([np.c_[x0, y - 0.4], np.c_[x1, y - 0.4], np.c_[x1, y + 0.4], np.c_[x0, y + 0.4]], axis=1)
        ax.add_collection(PolyCollection(boxes, facecolors=c, linewidths=0))
        if not t.is_drum:
            onsets = np.stack([np.c_[x0, y - 0.45], np.c_[x0, y + 0.45]], axis=1)
            ax.add_collection(LineCollection(onsets, colors="black", linewidths=0.6))
    bottom = drum_row - DRUM_ROW * len(DRUM_FAMILY_NAMES) if drums else lo - 2
    n_steps = max(piece.n_steps, 1)
    ax.set_xlim(0, n_steps)
    ax.set_ylim(bottom, hi + 2)
    bar = int(piece.bars[0, 1]) if len(piece.bars) else 4 * piece.steps_per_quarter
    for x in range(0, n_steps + 1, max(bar, 1)):
        ax.axvline(x, color="#888", lw=0.6)
    cs = [p for p in range(lo - 2, hi + 3) if p % 12 == 0]
    for p in cs:
        ax.axhline(p, color="#ccc", lw=0.4)
    ticks, labels = cs, [f"C{p // 12 - 1}" for p in cs]
    if drums:  # family f sits at drum_row - (families - 1 - f): kick at the bottom
        ax.axhline(drum_row + DRUM_ROW / 2, color="#888", lw=0.6)
        n = len(DRUM_FAMILY_NAMES)
        ticks = [drum_row - DRUM_ROW * (n - 1 - f) for f in range(n)] + ticks
        labels = [name.split()[0] for name in DRUM_FAMILY_NAMES] + labels
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xticks([])
    if drums or len(pitched) > 4:  # a band: say which colour is which part
        ax.legend(handles=[Patch(color=COLOURS[i % len(COLOURS)], label=t.name) for i, t in enumerate(piece.tracks)
                           if len(t.notes)], fontsize=6, loc="upper right", ncol=5, frameon=False)
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
