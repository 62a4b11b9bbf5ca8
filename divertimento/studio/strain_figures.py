"""What the studio's strain critic reads of an 8-bar strain (studio/strains.py): how its cells (bars, or pairs of
bars) relate to one another, not what notes they hold. Real reels and jigs bring their first bars back inside a
strain (ABCDABEF in bars: 18-37 % of O'Neill's and Ryan's 8-bar openings); a model that reads 4-bar windows writes
eight different bars (docs/adversarial.md, round 27).

A cell's views: its onsets (voice, step, pitch), its pitch classes (counted per onset) and its onset positions in
the bar. Two cells' similarity in a view is the cosine of those counts; a cell with nothing to compare (no onset)
is 0 alike to every other."""

from collections import Counter

import numpy as np

from ..music.roll import FIRST_PITCH_TOKEN

STRAIN_BARS = 8  # a reel's or jig's strain: the unit the critic judges and the forms are drawn for
EXACT = 0.99  # cells at least this alike in their onsets are the same cell (a repeat note for note)
NEAR = 0.8  # cells at least this alike are near-identical (a return with a note or two changed)
LETTERS = "ABCDEFGHIJKLMNOP"  # a strain's cell letters: enough for 16 cells


def _cosines(x: np.ndarray) -> np.ndarray:
    """[n, n] cosines between the rows of x [n, d]; 0 where a row is all zeros."""
    norms = np.linalg.norm(x, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    out = (x @ x.T) / safe[:, None] / safe[None, :]
    out[norms == 0] = 0.0
    out[:, norms == 0] = 0.0
    return out


def cell_views(tokens: np.ndarray, bar: int, cell_bars: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                           np.ndarray]:
    """Per whole cell of ``cell_bars`` bars of tokens [V, T]: (onset cosines [n, n], pitch-class cosines [n, n],
    onset-position cosines [n, n], note onsets [n])."""
    V = tokens.shape[0]
    size = cell_bars * bar
    n = tokens.shape[1] // size
    cells = np.asarray(tokens[:, : n * size], dtype=np.int64).reshape(V, n, size).transpose(1, 0, 2)  # [n, V, size]
    c, v, s = np.nonzero(cells >= FIRST_PITCH_TOKEN)
    pitch = cells[c, v, s] - FIRST_PITCH_TOKEN
    width = int(pitch.max()) + 1 if len(pitch) else 1
    onsets = np.zeros((n, V * size * width))
    onsets[c, (v * size + s) * width + pitch] = 1.0
    classes = np.zeros((n, 12))
    np.add.at(classes, (c, pitch % 12), 1.0)
    positions = np.zeros((n, bar))
    np.add.at(positions, (c, s % bar), 1.0)
    return _cosines(onsets), _cosines(classes), _cosines(positions), np.bincount(c, minlength=n).astype(float)


def strain_features(tokens: np.ndarray, bar: int, cell_bars: int = 1) -> np.ndarray:
    """The critic's view of a strain's first ``STRAIN_BARS`` bars: for each pair of cells (i < j, in order) the
    cosines of their onsets, then of their pitch classes, then of their onset positions; then each cell's onsets."""
    onsets, classes, positions, counts = cell_views(tokens[:, : STRAIN_BARS * bar], bar, cell_bars)
    upper = np.triu_indices(len(counts), k=1)
    return np.concatenate([onsets[upper], classes[upper], positions[upper], counts])


def feature_count(cell_bars: int = 1) -> int:
    n = STRAIN_BARS // cell_bars
    return 3 * n * (n - 1) // 2 + n


def strain_pattern(tokens: np.ndarray, bar: int, threshold: float = NEAR, cell_bars: int = 1) -> str:
    """A strain's cells as letters: a cell whose onsets are within ``threshold`` cosine of an earlier cell's takes
    the first such cell's letter, else the next new one."""
    onsets = cell_views(tokens[:, : STRAIN_BARS * bar], bar, cell_bars)[0]
    letters: list[str] = []
    for j in range(len(onsets)):
        same = [letters[i] for i in range(j) if onsets[i, j] >= threshold]
        letters.append(same[0] if same else LETTERS[len(set(letters))])
    return "".join(letters)


def form_shares(strains: list[np.ndarray], bar: int, cell_bars: int = 1) -> dict[str, float]:
    """Shares of the exact cell patterns (``EXACT``) of real strains, most common first: the forms to draw from."""
    counts = Counter(strain_pattern(p, bar, EXACT, cell_bars) for p in strains)
    return {f: n / len(strains) for f, n in counts.most_common()}
