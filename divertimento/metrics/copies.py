"""Novelty against a training set: near-copies under transposition, and the longest copied n-gram of notes.

Near-copy score (a cardinality score in the sense of Yin et al. 2021, "... originality report"): a window is the
set P of its (onset step, MIDI pitch) points, all voices together (a unison is one point). For a generated
window G and a training window R,

    score(G, R) = max_t |G intersect (R + t)| / max(|G|, |R|),   t = a transposition in semitones,

i.e. the share of the training window's notes that the generated window reproduces and vice versa, whichever is
smaller (so neither a sparse fragment of a training window nor a dense cluster containing one counts as a copy).
Time shifts are not searched: windows are bar-aligned and the training windows start on every bar (hop of one
bar), so a bar-shifted copy is a copy of another training window.

Search: comparing every generated window with every training window is 10^8 pairs; instead each window's
pitch-class histogram fixes a rotation (the best Krumhansl major-profile key), and windows are compared first
through a transposition-invariant sketch (onsets per beat and rotated pitch class, cosine similarity); the
``candidates`` most similar training windows for each of the window's two best rotations are then scored exactly,
for every transposition consistent with the rotations (t = rotation difference + 12 m, |m| <= 3). An exact or
transposed copy always has the identical sketch, so it is always found; near-copies are found when their sketch
is among the closest, which the tests check for 80-95 % copies.
"""

from dataclasses import dataclass

import numpy as np

from .decode import NO_PITCH, Decoded, onset_pitch_slots
from .descriptors import KK_MAJOR

COPY_THRESHOLD = 0.8  # score at which a generated window counts as a near-copy of a training window
OCTAVES = np.arange(-3, 4)  # transpositions searched: rotation difference + 12 m


@dataclass
class CopyIndex:
    """What novelty metrics need of a set of windows (the training set, or a generated set being scored)."""

    slots: np.ndarray  # [N, T, V] int16 distinct pitches starting at each step, NO_PITCH padded
    n_notes: np.ndarray  # [N] int32 number of (onset, pitch) points
    rotations: np.ndarray  # [N, 2] int8 the two best key rotations (pitch classes)
    sketch: np.ndarray  # [N, 2, F] float32 unit-norm transposition-invariant sketch for each rotation
    ngrams: np.ndarray  # sorted unique uint64 hashes of the set's note n-grams (only needed for the training set)

    def to_arrays(self, prefix: str = "copy/") -> dict[str, np.ndarray]:
        return {f"{prefix}{k}": getattr(self, k) for k in ("slots", "n_notes", "rotations", "sketch", "ngrams")}

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray], prefix: str = "copy/") -> "CopyIndex":
        return cls(*(np.asarray(a[f"{prefix}{k}"]) for k in ("slots", "n_notes", "rotations", "sketch", "ngrams")))


def _rotations(pc_counts: np.ndarray) -> np.ndarray:
    """[N, 2] the two rotations r maximising the correlation of the pitch-class counts with KK_MAJOR rolled by r."""
    prof = np.stack([np.roll(KK_MAJOR, r) for r in range(12)])
    prof = prof - prof.mean(-1, keepdims=True)
    score = (pc_counts - pc_counts.mean(-1, keepdims=True)) @ prof.T  # [N, 12]
    order = np.argsort(-score, axis=1, kind="stable")
    return order[:, :2].astype(np.int8)


def _sketch(dec: Decoded, rotations: np.ndarray, steps_per_quarter: int) -> np.ndarray:
    """[N, R, beats * 12] unit vectors: onsets per beat and pitch class, pitch classes rotated by -rotation."""
    N = dec.n_windows
    beats = dec.n_steps // steps_per_quarter
    beat = np.minimum(dec.note_start // steps_per_quarter, beats - 1)
    out = np.zeros((N, rotations.shape[1], beats * 12), dtype=np.float32)
    for k in range(rotations.shape[1]):
        pc = (dec.note_pitch - rotations[dec.note_win, k]) % 12
        idx = dec.note_win * (beats * 12) + beat * 12 + pc
        out[:, k] = np.bincount(idx, minlength=N * beats * 12).reshape(N, beats * 12)
    norm = np.linalg.norm(out, axis=-1, keepdims=True)
    return out / np.maximum(norm, 1e-12)


def build_copy_index(dec: Decoded, pc_counts: np.ndarray, steps_per_quarter: int, ngrams: bool = True) -> CopyIndex:
    slots = onset_pitch_slots(dec)
    rot = _rotations(pc_counts)
    return CopyIndex(slots, (slots != NO_PITCH).sum((1, 2)).astype(np.int32), rot,
                     _sketch(dec, rot, steps_per_quarter),
                     np.unique(ngram_hashes(dec)[0]) if ngrams else np.zeros(0, dtype=np.uint64))


def copy_scores(gen: CopyIndex, train: CopyIndex, candidates: int = 8, chunk: int = 512):
    """For each generated window: best score over training windows and transpositions, the training window and
    the transposition (semitones) that reach it. Windows without notes score 0 with index -1."""
    Ng, T, V = gen.slots.shape
    best = np.zeros(Ng)
    best_idx = np.full(Ng, -1, dtype=np.int64)
    best_t = np.zeros(Ng, dtype=np.int64)
    if len(train.n_notes) == 0 or Ng == 0:
        return best, best_idx, best_t
    K = min(candidates, len(train.n_notes))
    train_sk = train.sketch[:, 0]  # [Nr, F] the index side uses its best rotation
    for s in range(0, Ng, chunk):
        g = slice(s, min(s + chunk, Ng))
        q = gen.sketch[g]  # [m, 2, F]
        m = q.shape[0]
        sim = q.reshape(m * 2, -1) @ train_sk.T  # [m*2, Nr]
        cand = np.argpartition(-sim, K - 1, axis=1)[:, :K].reshape(m, 2 * K)  # [m, 2K]
        # transposition candidates t = (rot_g - rot_r) mod 12 (in -5..6) + 12 * octave
        rot_g = np.repeat(gen.rotations[g].astype(np.int64), K, axis=1)  # [m, 2K]
        base = (rot_g - train.rotations[cand, 0].astype(np.int64)) % 12
        base = np.where(base > 6, base - 12, base)
        matches = _count_matches(gen.slots[g], train.slots, cand, base)  # [m, 2K, n_octaves]
        denom = np.maximum(gen.n_notes[g, None], train.n_notes[cand])[..., None].astype(np.float64)
        score = np.where(denom > 0, matches / np.maximum(denom, 1), 0.0)
        flat = score.reshape(m, -1)
        j = flat.argmax(1)
        best[g] = flat[np.arange(m), j]
        c, o = np.divmod(j, len(OCTAVES))
        best_idx[g] = cand[np.arange(m), c]
        best_t[g] = base[np.arange(m), c] + 12 * OCTAVES[o]
    best_idx[gen.n_notes == 0] = -1
    return best, best_idx, best_t


def _count_matches(gslots: np.ndarray, rslots: np.ndarray, cand: np.ndarray, base: np.ndarray) -> np.ndarray:
    """[m, C, n_octaves] |G intersect (R + base + 12 o)| for generated windows G and candidate windows R."""
    m, T, V = gslots.shape
    C = cand.shape[1]
    out = np.zeros((m, C, len(OCTAVES)), dtype=np.int64)
    gw, gt, gv = np.nonzero(gslots != NO_PITCH)  # the generated points
    if len(gw) == 0:
        return out
    gp = gslots[gw, gt, gv].astype(np.int64)
    for c in range(C):
        r = cand[gw, c]
        rp = rslots[r, gt].astype(np.int64)  # [n_points, V] training pitches at the same onset step
        diff = gp[:, None] - rp - base[gw, c][:, None]  # = 12 o when the point matches under t = base + 12 o
        ok = (rp != NO_PITCH) & (diff % 12 == 0) & (np.abs(diff) <= 12 * OCTAVES[-1])
        pw, pv = np.nonzero(ok)
        o = diff[pw, pv] // 12 - OCTAVES[0]
        np.add.at(out[:, c], (gw[pw], o), 1)
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
