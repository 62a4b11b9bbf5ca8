"""Novelty against a training set: near-copies under transposition, and the longest copied n-gram of notes.

Near-copy score (a cardinality score in the sense of Yin et al. 2021, "... originality report"): a window is the
set P of its (onset step, MIDI pitch) points, all voices together (a unison is one point). For a generated
window G and a training window R,

    score(G, R) = max_t |G intersect (R + t)| / max(|G|, |R|),   t = a transposition in semitones,

i.e. the share of the training window's notes that the generated window reproduces and vice versa, whichever is
smaller (so neither a sparse fragment of a training window nor a dense cluster containing one counts as a copy).
Time shifts are not searched: windows are bar-aligned and the training windows start on every bar (hop of one
bar), so a bar-shifted copy is a copy of another training window.

Search: comparing every generated window with every training window is 10^8 pairs; instead windows are first
compared through a transposition-invariant sketch (per beat, the discrete Fourier transform over pitch class of
the onsets, each coefficient's phase taken relative to the whole window's, cosine similarity); the ``candidates``
most similar training windows are then scored exactly, for every transposition (a histogram of pitch differences
between points at the same onset step). An exact or transposed copy has the identical sketch, so it is always
found; near-copies are found when their sketch is among the closest, which the tests check for 85-95 % copies.
"""

from dataclasses import dataclass

import numpy as np

from .decode import NO_PITCH, Decoded, onset_pitch_slots

COPY_THRESHOLD = 0.8  # score at which a generated window counts as a near-copy of a training window
MAX_SHIFT = 48  # transpositions searched: -48..48 semitones


@dataclass
class CopyIndex:
    """What novelty metrics need of a set of windows (the training set, or a generated set being scored)."""

    slots: np.ndarray  # [N, T, V] int16 distinct pitches starting at each step, NO_PITCH padded
    n_notes: np.ndarray  # [N] int32 number of (onset, pitch) points
    sketch: np.ndarray  # [N, F] float32 unit-norm transposition-invariant sketch
    ngrams: np.ndarray  # sorted unique uint64 hashes of the set's note n-grams (only needed for the training set)

    FIELDS = ("slots", "n_notes", "sketch", "ngrams")

    def to_arrays(self, prefix: str = "copy/") -> dict[str, np.ndarray]:
        return {f"{prefix}{k}": getattr(self, k) for k in self.FIELDS}

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray], prefix: str = "copy/") -> "CopyIndex":
        return cls(*(np.asarray(a[f"{prefix}{k}"]) for k in cls.FIELDS))


def sketch(dec: Decoded, steps_per_quarter: int) -> np.ndarray:
    """[N, beats * 13] unit vectors invariant to transposition.

    c[b, pc] = onsets of pitch class pc in beat b; X[b, k] = DFT over pc (k = 0..6); G[k] = sum_b X[b, k].
    Transposing by t multiplies X[b, k] and G[k] by the same phase exp(-2 pi i k t / 12), so
    X[b, k] conj(G[k]) is unchanged; coefficients whose G[k] is small (unstable phase) weigh little."""
    N = dec.n_windows
    beats = max(1, dec.n_steps // steps_per_quarter)
    beat = np.minimum(dec.note_start // steps_per_quarter, beats - 1)
    idx = (dec.note_win * beats + beat) * 12 + dec.note_pitch % 12
    c = np.bincount(idx, minlength=N * beats * 12).reshape(N, beats, 12).astype(np.float64)
    X = np.fft.fft(c, axis=-1)[..., :7]  # [N, B, 7]
    G = X.sum(1)  # [N, 7]
    g = np.abs(G[:, 1:])
    unit = np.conj(G[:, 1:]) / np.maximum(np.sqrt((g ** 2).sum(-1, keepdims=True)), 1e-12)  # [N, 6]
    Y = X[..., 1:] * unit[:, None, :]  # [N, B, 6]
    out = np.concatenate([c.sum(-1, keepdims=True), Y.real, Y.imag], axis=-1).reshape(N, -1)
    out /= np.maximum(np.linalg.norm(out, axis=-1, keepdims=True), 1e-12)
    return out.astype(np.float32)


def build_copy_index(dec: Decoded, steps_per_quarter: int, ngrams: bool = True) -> CopyIndex:
    slots = onset_pitch_slots(dec)
    return CopyIndex(slots, (slots != NO_PITCH).sum((1, 2)).astype(np.int32), sketch(dec, steps_per_quarter),
                     np.unique(ngram_hashes(dec)[0]) if ngrams else np.zeros(0, dtype=np.uint64))


def copy_scores(gen: CopyIndex, train: CopyIndex, candidates: int = 16, chunk: int = 512):
    """For each generated window: best score over training windows and transpositions, the training window and
    the transposition (semitones, generated = training + t) that reach it. Windows without notes score 0, index -1."""
    Ng = len(gen.n_notes)
    best = np.zeros(Ng)
    best_idx = np.full(Ng, -1, dtype=np.int64)
    best_t = np.zeros(Ng, dtype=np.int64)
    if len(train.n_notes) == 0 or Ng == 0:
        return best, best_idx, best_t
    K = min(candidates, len(train.n_notes))
    for s in range(0, Ng, chunk):
        g = slice(s, min(s + chunk, Ng))
        sim = gen.sketch[g] @ train.sketch.T  # [m, Nr]
        m = sim.shape[0]
        cand = np.argpartition(-sim, K - 1, axis=1)[:, :K]  # [m, K]
        matches = _count_matches(gen.slots[g], train.slots, cand)  # [m, K, 2 MAX_SHIFT + 1]
        denom = np.maximum(gen.n_notes[g, None], train.n_notes[cand]).astype(np.float64)  # [m, K]
        score = matches / np.maximum(denom, 1)[..., None]
        flat = score.reshape(m, -1)
        j = flat.argmax(1)
        best[g] = flat[np.arange(m), j]
        c, shift = np.divmod(j, 2 * MAX_SHIFT + 1)
        best_idx[g] = cand[np.arange(m), c]
        best_t[g] = shift - MAX_SHIFT
    best_idx[gen.n_notes == 0] = -1
    return best, best_idx, best_t


def _count_matches(gslots: np.ndarray, rslots: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """[m, C, 2 MAX_SHIFT + 1] |G intersect (R + t)| for every t, generated windows G, candidate windows R."""
    m = gslots.shape[0]
    C = cand.shape[1]
    W = 2 * MAX_SHIFT + 1
    out = np.zeros((m, C, W), dtype=np.int64)
    gw, gt, gv = np.nonzero(gslots != NO_PITCH)  # the generated points
    if len(gw) == 0:
        return out
    gp = gslots[gw, gt, gv].astype(np.int64)
    for c in range(C):
        rp = rslots[cand[gw, c], gt].astype(np.int64)  # [n_points, V] training pitches at the same onset step
        diff = gp[:, None] - rp  # a point matches under t = diff
        ok = (rp != NO_PITCH) & (np.abs(diff) <= MAX_SHIFT)
        pw, pv = np.nonzero(ok)
        key = gw[pw] * W + diff[pw, pv] + MAX_SHIFT
        out[:, c] = np.bincount(key, minlength=m * W).reshape(m, W)
    return out


# ---- n-grams of notes ------------------------------------------------------------------------------------------

_B = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the polynomial hash (mod 2^64)
_LEN_MIX = np.uint64(0xC2B2AE3D27D4EB4F)
MAX_NGRAM = 64


def _inverse_mod_2_64(a: int) -> int:
    return pow(int(a), -1, 2**64)


def _transition_codes(dec: Decoded):
    """Per voice line, the transitions between successive notes as codes of (interval, inter-onset interval,
    length of the earlier note): transposition-invariant, so an n-gram of n notes is n - 1 codes.
    Returns codes [k] uint64, their window index [k] and line index [k]."""
    same = (dec.note_win[1:] == dec.note_win[:-1]) & (dec.note_voice[1:] == dec.note_voice[:-1])
    interval = np.diff(dec.note_pitch)[same] + 128
    ioi = np.minimum(np.diff(dec.note_start)[same], 4095)
    dur = np.minimum(dec.note_dur[:-1][same], 4095)
    codes = ((interval.astype(np.uint64) << np.uint64(24)) | (ioi.astype(np.uint64) << np.uint64(12))
             | dur.astype(np.uint64)) + np.uint64(1)
    line = (dec.note_win * dec.n_voices + dec.note_voice)[1:][same]
    return codes, dec.note_win[1:][same], line


def ngram_hashes(dec: Decoded, max_len: int = MAX_NGRAM):
    """Hashes of every contiguous run of 1..max_len transitions within a voice line (an n-gram of n + 1 notes),
    with its window index and length in transitions."""
    codes, win, line = _transition_codes(dec)
    k = len(codes)
    if k == 0:
        e = np.zeros(0, dtype=np.uint64)
        return e, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(k, _B, dtype=np.uint64))  # B^1 .. B^k
        powers = np.concatenate([[np.uint64(1)], powers])
        inv = np.uint64(_inverse_mod_2_64(int(_B)))
        inv_powers = np.cumprod(np.full(k, inv, dtype=np.uint64))
        inv_powers = np.concatenate([[np.uint64(1)], inv_powers])
        prefix = np.concatenate([[np.uint64(0)], np.cumsum(codes * powers[:k], dtype=np.uint64)])
    # line end (exclusive) for each position
    starts_line = np.r_[True, line[1:] != line[:-1]]
    line_id = np.cumsum(starts_line) - 1
    line_end = np.flatnonzero(np.r_[line[1:] != line[:-1], True]) + 1
    end_of = line_end[line_id]
    hashes, wins, lens = [], [], []
    i = np.arange(k)
    for n in range(1, max_len + 1):
        ok = i + n <= end_of
        if not ok.any():
            break
        s = i[ok]
        with np.errstate(over="ignore"):
            h = (prefix[s + n] - prefix[s]) * inv_powers[s]  # position-free polynomial hash of codes s..s+n-1
            h = (h ^ (np.uint64(n) * _LEN_MIX)) * _B
        hashes.append(h)
        wins.append(win[s])
        lens.append(np.full(len(s), n))
    return np.concatenate(hashes), np.concatenate(wins), np.concatenate(lens)


def longest_copied_ngram(gen: Decoded, train_ngrams: np.ndarray) -> np.ndarray:
    """[N] per generated window, the length in notes of its longest run of successive notes in one voice whose
    intervals, inter-onset intervals and lengths (so up to transposition) also occur in one voice of a training
    window. 1 when no two-note pattern is shared, 0 for a window without notes."""
    n = gen.n_windows
    out = np.where(gen.notes_per_window() > 0, 1, 0).astype(np.int64)
    h, w, length = ngram_hashes(gen)
    if len(h) == 0 or len(train_ngrams) == 0:
        return out
    pos = np.searchsorted(train_ngrams, h)
    hit = train_ngrams[np.minimum(pos, len(train_ngrams) - 1)] == h
    np.maximum.at(out, w[hit], length[hit] + 1)
    return out[:n]
