"""Per-window musical descriptors, vectorised over ``[N, V, T]`` windows.

Every function takes a ``Decoded`` set of windows and returns one value per window (NaN where the descriptor is
undefined, e.g. the groove of a window with one bar, or tonal distance with one sounding voice). Definitions are
re-derived from the papers, not copied from pypianoroll / muspy / MuseGAN code, whose bugs are listed in
REFERENCES.md; the tests check each on small asymmetric fixtures.

Time units on our grid: a *bar* is 4 quarters = ``4 * steps_per_quarter`` steps (windows are cut in 4/4-equivalent
bars, so a 2/4 tune's two real bars make one bar here); a *beat* is one quarter = ``steps_per_quarter`` steps.
"""

from dataclasses import dataclass, field

import numpy as np

from ..music.key import best_keys  # picks a tonic for the scale-degree histogram
from .decode import NO_PITCH, Decoded

# Scales as pitch-class masks with the tonic at 0 (the same sets muspy uses: major and natural minor).
MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=bool)
MINOR = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], dtype=bool)
SCALES = np.stack([np.roll(MAJOR, r) for r in range(12)] + [np.roll(MINOR, r) for r in range(12)])  # [24, 12]


# Duration classes in quarters, right-closed: (0, 1/4], (1/4, 1/2], ... (4, inf).
LENGTH_EDGES_Q = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
LENGTH_LABELS = ("16th", "8th", "dotted 8th", "quarter", "<=dotted q", "<=half", "<=dotted half", "<=whole",
                 ">whole")


def harte_matrix() -> np.ndarray:
    """The 6 x 12 tonal-centroid projection of Harte, Sandler & Gasser (2006), eq. 2:
    rows r1 sin/cos(l 7pi/6), r2 sin/cos(l 3pi/2), r3 sin/cos(l 2pi/3) for l = 0..11, r1 = r2 = 1, r3 = 0.5
    (circle of fifths, minor thirds, major thirds)."""
    pc = np.arange(12)
    rows = []
    for r, angle in ((1.0, 7 * np.pi / 6), (1.0, 3 * np.pi / 2), (0.5, 2 * np.pi / 3)):
        rows += [r * np.sin(pc * angle), r * np.cos(pc * angle)]
    return np.stack(rows)


PHI = harte_matrix()


def _per_window(values: np.ndarray, win: np.ndarray, n: int) -> np.ndarray:
    """Mean of ``values`` grouped by window index; NaN for windows with no values."""
    count = np.bincount(win, minlength=n)
    total = np.bincount(win, weights=values.astype(np.float64), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1e-300), np.nan)


def _bars(dec: Decoded, bar_steps: int) -> int:
    if dec.n_steps % bar_steps:
        raise ValueError(f"window of {dec.n_steps} steps is not a whole number of {bar_steps}-step bars")
    return dec.n_steps // bar_steps


# ---- per-window descriptors ------------------------------------------------------------------------------------


def empty_bar_rate(dec: Decoded, bar_steps: int) -> np.ndarray:
    """[N, V] share of bars in which the voice sounds nothing (MuseGAN's EB, the *empty* share).

    EB_v = #{bars where voice v has no sounding step} / #bars. A note held over the barline makes the next bar
    non-empty. (MuseGAN v2's code returns the non-empty share; this is the paper's definition.)"""
    nb = _bars(dec, bar_steps)
    sounding = (dec.pitch != NO_PITCH).reshape(dec.n_windows, dec.n_voices, nb, bar_steps).any(-1)  # [N, V, B]
    return 1.0 - sounding.mean(-1)


def _pc_onehot_sounding(dec: Decoded) -> np.ndarray:
    """[N, V, T, 12] bool: the pitch class sounding in each voice at each step."""
    sounding = dec.pitch != NO_PITCH
    pcs = np.where(sounding, dec.pitch % 12, 0)
    return (pcs[..., None] == np.arange(12)) & sounding[..., None]


def used_pitch_classes(dec: Decoded, bar_steps: int) -> np.ndarray:
    """[N] mean over non-empty bars of the number of distinct pitch classes sounding in the bar, all voices together
    (MuseGAN's UPC). Pitch class = MIDI pitch mod 12, so C4 and C5 are one class. NaN for a silent window."""
    nb = _bars(dec, bar_steps)
    onehot = _pc_onehot_sounding(dec).any(axis=1)  # [N, T, 12]
    per_bar = onehot.reshape(dec.n_windows, nb, bar_steps, 12).any(2).sum(-1)  # [N, B]
    nonempty = per_bar > 0
    return _ratio((per_bar * nonempty).sum(-1), nonempty.sum(-1))


def qualified_note_rate(dec: Decoded, min_steps: int) -> np.ndarray:
    """[N] share of notes at least ``min_steps`` long (MuseGAN's QN).

    MuseGAN's threshold (3 of 96 steps per bar, a 32nd note) is met by every note on a 16th grid, so ours is
    stated separately (``qn_min_steps`` in ``DescriptorConfig``: an eighth note by default). Each note's length
    is its own run of HOLDs in its own voice, so notes crossing a neighbouring voice's note are measured
    correctly. Notes cut by the window's end count with their length inside the window."""
    n = dec.n_windows
    return _ratio(np.bincount(dec.note_win, weights=dec.note_dur >= min_steps, minlength=n),
                  np.bincount(dec.note_win, minlength=n))


def distinct_pitches(grid: np.ndarray) -> np.ndarray:
    """[N, T] number of distinct pitches in a pitch grid [N, V, T] (NO_PITCH where a voice has none): two voices in
    unison count once."""
    p = np.sort(grid, axis=1)  # [N, V, T]
    new = p != NO_PITCH
    new[:, 1:] &= p[:, 1:] != p[:, :-1]
    return new.sum(1)


def distinct_pitches_per_step(dec: Decoded) -> np.ndarray:
    """[N, T] number of distinct pitches sounding (two voices in unison sound one pitch)."""
    return distinct_pitches(dec.pitch)


def polyphony_rate(dec: Decoded) -> np.ndarray:
    """[N] share of the window's steps where two or more distinct pitches sound (MuseGAN's polyphonicity with
    "at least two", the meaning of the paper; pypianoroll's ``> 2`` scores a two-note chord as monophonic).
    Denominator: all steps of the window."""
    return (distinct_pitches_per_step(dec) >= 2).mean(-1)


def pitch_class_counts(dec: Decoded) -> np.ndarray:
    """[N, 12] number of notes (onsets) of each pitch class."""
    n = dec.n_windows
    return np.bincount(dec.note_win * 12 + dec.note_pitch % 12, minlength=n * 12).reshape(n, 12).astype(np.float64)


def in_scale_rate(pc_counts: np.ndarray) -> np.ndarray:
    """[N] scale consistency: max over the 24 major / natural-minor keys of the share of notes whose pitch class is
    in the key's scale (Mogren 2016; the estimated key is the argmax). C-E-G is 100 % in C major. NaN for no notes."""
    return _ratio((pc_counts @ SCALES.T.astype(np.float64)).max(-1), pc_counts.sum(-1))


def estimate_tonic(pc_counts: np.ndarray) -> np.ndarray:
    """[N] tonic pitch class of the best Krumhansl-Kessler key (major or minor) by correlation; 0 for no notes."""
    return best_keys(pc_counts) % 12


def scale_degree_histogram(pc_counts: np.ndarray) -> np.ndarray:
    """[N, 12] pitch-class histogram rotated so the estimated tonic is degree 0, normalised to sum 1 (transposition
    invariant, unlike the raw pitch-class histogram)."""
    tonic = estimate_tonic(pc_counts)
    idx = (np.arange(12)[None, :] + tonic[:, None]) % 12
    rot = np.take_along_axis(pc_counts, idx, axis=1)
    return _normalise_rows(rot)


def _normalise_rows(h: np.ndarray) -> np.ndarray:
    s = h.sum(-1, keepdims=True)
    return np.where(s > 0, h / np.maximum(s, 1e-300), 0.0)


def pitch_range(dec: Decoded) -> np.ndarray:
    """[N] highest minus lowest MIDI pitch of the window's notes, in semitones; NaN for no notes."""
    n = dec.n_windows
    hi = np.full(n, -1)
    lo = np.full(n, 128)
    np.maximum.at(hi, dec.note_win, dec.note_pitch)
    np.minimum.at(lo, dec.note_win, dec.note_pitch)
    return np.where(hi >= 0, hi - lo, np.nan).astype(np.float64)


def pitch_class_entropy(pc_counts: np.ndarray) -> np.ndarray:
    """[N] Shannon entropy in bits of the notes' pitch-class distribution, -sum_i p_i log2 p_i (0..log2 12)."""
    p = _normalise_rows(pc_counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log2(np.where(p > 0, p, 1)), 0).sum(-1)
    return np.where(pc_counts.sum(-1) > 0, h, np.nan)


def groove_consistency(dec: Decoded, bar_steps: int) -> np.ndarray:
    """[N] 1 - mean over adjacent bar pairs of Hamming(onset pattern_i, onset pattern_i+1) / bar_steps
    (Wu & Yang 2020). The onset pattern marks steps where any voice starts a note. NaN with fewer than two bars."""
    nb = _bars(dec, bar_steps)
    if nb < 2:
        return np.full(dec.n_windows, np.nan)
    pattern = dec.onset.any(1).reshape(dec.n_windows, nb, bar_steps)
    ham = (pattern[:, 1:] != pattern[:, :-1]).sum(-1)  # [N, B-1]
    return 1.0 - ham.mean(-1) / bar_steps


def beat_chroma(dec: Decoded, beat_steps: int) -> np.ndarray:
    """[N, V, beats, 12] number of sounding steps of each pitch class per voice and beat."""
    N, V, T = dec.pitch.shape
    nbeats = T // beat_steps
    n, v, t = np.nonzero(dec.pitch[..., : nbeats * beat_steps] != NO_PITCH)
    idx = ((n * V + v) * nbeats + t // beat_steps) * 12 + dec.pitch[n, v, t] % 12
    return np.bincount(idx, minlength=N * V * nbeats * 12).reshape(N, V, nbeats, 12).astype(np.float64)


def tonal_distance(dec: Decoded, beat_steps: int) -> np.ndarray:
    """[N] Harte et al. (2006) tonal distance between voices: per beat and voice, the L1-normalised chroma is
    projected by the 6 x 12 matrix ``PHI`` to a tonal centroid; the distance of two voices in a beat is the
    Euclidean distance of their centroids. Averaged over all voice pairs and beats where both voices sound;
    NaN where no beat has two sounding voices."""
    chroma = beat_chroma(dec, beat_steps)  # [N, V, B, 12]
    total = chroma.sum(-1)  # [N, V, B]
    centroid = (chroma / np.maximum(total, 1e-300)[..., None]) @ PHI.T  # [N, V, B, 6]
    num = np.zeros(dec.n_windows)
    den = np.zeros(dec.n_windows)
    for i in range(dec.n_voices):
        for j in range(i + 1, dec.n_voices):
            ok = (total[:, i] > 0) & (total[:, j] > 0)  # [N, B]
            d = np.linalg.norm(centroid[:, i] - centroid[:, j], axis=-1)
            num += np.where(ok, d, 0).sum(-1)
            den += ok.sum(-1)
    return _ratio(num, den)


def _slices(dec: Decoded):
    """Successive onset slices: for every step t where some voice starts a note and an earlier such step s
    exists, the sounding pitches at s and at t. Returns window index [S], pitches before [S, V], after [S, V]."""
    N, V, T = dec.pitch.shape
    any_on = dec.onset.any(1)  # [N, T]
    last = np.maximum.accumulate(np.where(any_on, np.arange(T), -1), axis=-1)
    prev = np.concatenate([np.full((N, 1), -1), last[:, :-1]], axis=-1)  # last onset step before t
    n, t = np.nonzero(any_on & (prev >= 0))
    before = dec.pitch[n, :, prev[n, t]]  # [S, V]
    after = dec.pitch[n, :, t]
    return n, before.astype(np.int64), after.astype(np.int64)


def parallel_fifths_octaves_rate(dec: Decoded) -> np.ndarray:
    """[N] share of two-voice motions that are parallel fifths or octaves.

    Between successive onset slices, a pair of voices *moves* when both sound in both slices and both change
    pitch. It is a parallel fifth (octave) when both move in the same direction and the interval between them is
    a perfect fifth (unison/octave), compound intervals included (|p_i - p_j| mod 12 = 7, resp. 0), before and
    after. Rate = parallel motions / all motions where both voices move, over all voice pairs; NaN if none."""
    n, before, after = _slices(dec)
    num = np.zeros(dec.n_windows)
    den = np.zeros(dec.n_windows)
    for i in range(dec.n_voices):
        for j in range(i + 1, dec.n_voices):
            mi, mj = after[:, i] - before[:, i], after[:, j] - before[:, j]
            sound = (before[:, i] >= 0) & (before[:, j] >= 0) & (after[:, i] >= 0) & (after[:, j] >= 0)
            both = sound & (mi != 0) & (mj != 0)
            ib, ia = np.abs(before[:, i] - before[:, j]) % 12, np.abs(after[:, i] - after[:, j]) % 12
            par = both & (np.sign(mi) == np.sign(mj)) & (((ib == 7) & (ia == 7)) | ((ib == 0) & (ia == 0)))
            num += np.bincount(n, weights=par, minlength=dec.n_windows)
            den += np.bincount(n, weights=both, minlength=dec.n_windows)
    return _ratio(num, den)


def voice_crossing_rate(dec: Decoded) -> np.ndarray:
    """[N] share of (step, adjacent voice pair) cells, both voices sounding, where the upper voice (lower index in
    the layout, e.g. soprano above alto) is strictly below the lower one. NaN where no adjacent pair sounds."""
    p = dec.pitch.astype(np.int64)
    upper, lower = p[:, :-1], p[:, 1:]  # [N, V-1, T]
    both = (upper != NO_PITCH) & (lower != NO_PITCH)
    return _ratio((both & (upper < lower)).sum((1, 2)), both.sum((1, 2)))


def _same_line(dec: Decoded) -> np.ndarray:
    """[n-1] whether note k+1 follows note k in the same window and voice."""
    return (dec.note_win[1:] == dec.note_win[:-1]) & (dec.note_voice[1:] == dec.note_voice[:-1])


def mean_interval(dec: Decoded) -> np.ndarray:
    """[N] mean absolute interval in semitones between successive notes of a voice (rests between them allowed)."""
    same = _same_line(dec)
    step = np.abs(np.diff(dec.note_pitch))[same]
    return _per_window(step, dec.note_win[1:][same], dec.n_windows)


def iois(dec: Decoded) -> tuple[np.ndarray, np.ndarray]:
    """Inter-onset intervals in steps between successive notes of the same voice, with their window index."""
    same = _same_line(dec)
    return np.diff(dec.note_start)[same], dec.note_win[1:][same]


def length_histogram(steps: np.ndarray, win: np.ndarray, n: int, steps_per_quarter: int) -> np.ndarray:
    """[n, 9] share of durations in each class of ``LENGTH_EDGES_Q`` (right-closed, in quarters)."""
    q = steps / steps_per_quarter
    cls = np.searchsorted(np.asarray(LENGTH_EDGES_Q), q, side="left")  # (e_{k-1}, e_k] -> k
    k = len(LENGTH_EDGES_Q) + 1
    h = np.bincount(win * k + cls, minlength=n * k).reshape(n, k).astype(np.float64)
    return _normalise_rows(h)


def pc_transition_matrix(dec: Decoded) -> np.ndarray:
    """[N, 144] MGEval's pitch-class transition matrix: counts of (pc of note k, pc of note k+1) for successive
    notes of a voice, normalised to sum 1 per window."""
    same = _same_line(dec)
    a, b = dec.note_pitch[:-1][same] % 12, dec.note_pitch[1:][same] % 12
    w = dec.note_win[1:][same]
    n = dec.n_windows
    m = np.bincount(w * 144 + a * 12 + b, minlength=n * 144).reshape(n, 144).astype(np.float64)
    return _normalise_rows(m)


# ---- the descriptor table -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DescriptorConfig:
    steps_per_quarter: int = 4  # grid resolution of the windows
    qn_min_steps: int | None = None  # shortest qualified note in steps; None = an eighth note (spq // 2, >= 1)

    @property
    def bar_steps(self) -> int:
        return 4 * self.steps_per_quarter

    @property
    def qn_steps(self) -> int:
        return self.qn_min_steps if self.qn_min_steps is not None else max(1, self.steps_per_quarter // 2)


@dataclass
class Descriptors:
    """Per-window descriptors of a set: scalars [N] (NaN = undefined) and row-normalised histograms [N, k]."""

    scalars: dict[str, np.ndarray]
    hists: dict[str, np.ndarray]
    roles: tuple[str, ...] = ()
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # e.g. pc_counts, not part of the vector

    @property
    def n(self) -> int:
        return len(next(iter(self.scalars.values())))

    def subset(self, idx: np.ndarray) -> "Descriptors":
        return Descriptors({k: v[idx] for k, v in self.scalars.items()}, {k: v[idx] for k, v in self.hists.items()},
                           self.roles, {k: v[idx] for k, v in self.extra.items()})

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        out = {f"{prefix}s/{k}": v for k, v in self.scalars.items()}
        out.update({f"{prefix}h/{k}": v for k, v in self.hists.items()})
        out.update({f"{prefix}x/{k}": v for k, v in self.extra.items()})
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], roles: tuple[str, ...], prefix: str = "") -> "Descriptors":
        def part(tag):
            p = f"{prefix}{tag}/"
            return {k[len(p):]: np.asarray(v) for k, v in arrays.items() if k.startswith(p)}
        return cls(part("s"), part("h"), tuple(roles), part("x"))


# Scalars that describe a window as music (shown in the report, compared by relative error, used in the vector).
SCALARS = ("empty_bar_rate", "used_pitch_classes", "qualified_note_rate", "polyphony_rate", "in_scale_rate",
           "pitch_range", "pitch_class_entropy", "groove_consistency", "tonal_distance",
           "parallel_fifths_octaves_rate", "voice_crossing_rate", "note_count", "pitch_count", "mean_interval",
           "mean_ioi", "mean_note_length")
VECTOR_HISTS = ("note_length_histogram", "ioi_histogram", "scale_degree_histogram")


def compute_descriptors(dec: Decoded, config: DescriptorConfig, roles: tuple[str, ...] = ()) -> Descriptors:
    """All descriptors of a decoded set of windows."""
    n = dec.n_windows
    spq = config.steps_per_quarter
    roles = tuple(roles) or tuple(f"voice{i}" for i in range(dec.n_voices))
    pcc = pitch_class_counts(dec)
    eb = empty_bar_rate(dec, config.bar_steps)  # [N, V]
    ioi, ioi_win = iois(dec)
    s = {
        "empty_bar_rate": eb.mean(-1),
        "used_pitch_classes": used_pitch_classes(dec, config.bar_steps),
        "qualified_note_rate": qualified_note_rate(dec, config.qn_steps),
        "polyphony_rate": polyphony_rate(dec),
        "in_scale_rate": in_scale_rate(pcc),
        "pitch_range": pitch_range(dec),
        "pitch_class_entropy": pitch_class_entropy(pcc),
        "groove_consistency": groove_consistency(dec, config.bar_steps),
        "tonal_distance": tonal_distance(dec, spq),
        "parallel_fifths_octaves_rate": parallel_fifths_octaves_rate(dec),
        "voice_crossing_rate": voice_crossing_rate(dec) if dec.n_voices > 1 else np.full(n, np.nan),
        "note_count": dec.notes_per_window().astype(np.float64),
        "pitch_count": np.bincount(np.unique(dec.note_win * 128 + dec.note_pitch) // 128, minlength=n).astype(float),
        "mean_interval": mean_interval(dec),
        "mean_ioi": _per_window(ioi / spq, ioi_win, n),
        "mean_note_length": _per_window(dec.note_dur / spq, dec.note_win, n),
    }
    for v, role in enumerate(roles):
        s[f"empty_bar_rate/{role}"] = eb[:, v]
    h = {
        "note_length_histogram": length_histogram(dec.note_dur, dec.note_win, n, spq),
        "ioi_histogram": length_histogram(ioi, ioi_win, n, spq),
        "scale_degree_histogram": scale_degree_histogram(pcc),
        "pitch_class_histogram": _normalise_rows(pcc),
        "pc_transition_matrix": pc_transition_matrix(dec),
    }
    return Descriptors(s, h, roles, {"pc_counts": pcc})


def vector_names(desc: Descriptors) -> list[str]:
    names = [k for k in SCALARS if k != "empty_bar_rate"] + [f"empty_bar_rate/{r}" for r in desc.roles]
    for h in VECTOR_HISTS:
        names += [f"{h}[{i}]" for i in range(desc.hists[h].shape[1])]
    return names


def descriptor_vectors(desc: Descriptors) -> np.ndarray:
    """[N, D] raw descriptor vectors (NaN kept): the scalars, per-voice empty-bar rates and the note-length, IOI
    and scale-degree histograms. Standardise with the reference's statistics before measuring distances."""
    cols = [desc.scalars[k] for k in SCALARS if k != "empty_bar_rate"]
    cols += [desc.scalars[f"empty_bar_rate/{r}"] for r in desc.roles]
    parts = [np.stack(cols, axis=1)] + [desc.hists[h] for h in VECTOR_HISTS]
    return np.concatenate(parts, axis=1).astype(np.float64)
