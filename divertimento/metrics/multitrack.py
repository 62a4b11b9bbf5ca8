"""MuseGAN's multi-track figures for layouts of parts (band, piano), from their definitions (Dong et al. 2018):
per part, the empty-bar rate (EB), used pitch classes per bar (UPC), qualified-note rate (QN), polyphony and the
sizes of the chords it starts; per pair of pitched parts, the tonal distance (Harte et al. 2006); for the drums,
the share of hits on eighth-note positions and how alike consecutive bars' drum patterns are.

A part is the union of its lanes (token rows). MuseGAN's drum-pattern figure counts hits on a 16th-note grid of a
96-step bar; on our 16th grid every hit is on it, so the eighth-note share takes its place (an 8-beat rock pattern
scores 1, a busy 16th hi-hat 0.5)."""

import numpy as np

from ..music.layouts import LAYOUTS, Layout
from .context import Context
from .decode import NO_PITCH, Decoded, decode, to_absolute
from .descriptors import (
    PHI,
    beat_chroma,
    distinct_pitches,
    distinct_pitches_per_step,
    groove_consistency,
    qualified_note_rate,
    used_pitch_classes,
)
from .registry import register

CHORD_SIZES = 4  # chord-size shares for 1, 2, 3 and 4 or more notes starting together


def layout_of_roles(roles) -> Layout | None:
    """The registered layout of parts whose token rows these are, or None (satb, or rows of no known layout)."""
    for layout in LAYOUTS.values():
        if layout.multi_part and tuple(layout.roles) == tuple(roles):
            return layout
    return None


def part_rows(layout: Layout) -> list[list[int]]:
    return [[v for v, p in enumerate(layout.voice_parts) if p == i] for i in range(len(layout.parts))]


def _nanmean(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    x = x[~np.isnan(x)]
    return float(x.mean()) if len(x) else float("nan")


def chord_size_shares(dec: Decoded) -> np.ndarray:
    """[CHORD_SIZES] among the steps where the part starts a note, the share where 1, 2, 3, 4+ distinct pitches
    start together; NaN when it starts none."""
    size = distinct_pitches(np.where(dec.onset, dec.pitch, NO_PITCH)).ravel()  # pitches starting per (window, step)
    size = size[size > 0]
    if not len(size):
        return np.full(CHORD_SIZES, np.nan)
    return np.bincount(np.minimum(size, CHORD_SIZES) - 1, minlength=CHORD_SIZES) / len(size)


def sounding_polyphony(dec: Decoded) -> float:
    """Among the steps where the part sounds, the share with two or more distinct pitches."""
    n = distinct_pitches_per_step(dec)
    return float((n >= 2).sum() / (n > 0).sum()) if (n > 0).any() else float("nan")


def part_empty_bar_rate(dec: Decoded, bar_steps: int) -> float:
    """Share of bars in which no lane of the part sounds (MuseGAN's EB of the part as one track)."""
    bars = dec.n_steps // bar_steps
    sounding = (dec.pitch[..., : bars * bar_steps] != NO_PITCH).any(axis=1)  # [N, T]
    return float(1.0 - sounding.reshape(dec.n_windows, bars, bar_steps).any(-1).mean()) if dec.n_windows else \
        float("nan")


def part_centroids(dec: Decoded, beat_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Per window and beat, the part's tonal centroid [N, B, 6] (all its lanes' chroma together) and whether
    it sounds [N, B]."""
    chroma = beat_chroma(dec, beat_steps).sum(axis=1)  # [N, B, 12]
    total = chroma.sum(-1)
    return (chroma / np.maximum(total, 1e-300)[..., None]) @ PHI.T, total > 0


def multitrack_figures(tokens: np.ndarray, layout: Layout, steps_per_quarter: int, bar_steps: int,
                       qn_steps: int) -> dict[str, float]:
    """The figures of absolute-token windows [N, V, T] of ``layout``, flat: ``piano/eb``, ``bass/upc``,
    ``drums/eighth_share``, ``tonal_distance/piano-bass``, ... (parts that never sound get NaN)."""
    out: dict[str, float] = {}
    centroids = {}
    for part, rows in zip(layout.parts, part_rows(layout)):
        dec = decode(tokens[:, rows])
        name = part.name
        out[f"{name}/eb"] = part_empty_bar_rate(dec, bar_steps)
        if part.drum:
            starts = dec.note_start
            out[f"{name}/eighth_share"] = float((starts % (steps_per_quarter // 2 or 1) == 0).mean()) \
                if len(starts) else float("nan")
            out[f"{name}/pattern_consistency"] = _nanmean(groove_consistency(dec, bar_steps))
            continue
        out[f"{name}/upc"] = _nanmean(used_pitch_classes(dec, bar_steps))
        out[f"{name}/qn"] = _nanmean(qualified_note_rate(dec, qn_steps))
        out[f"{name}/polyphony"] = sounding_polyphony(dec)
        for k, share in enumerate(chord_size_shares(dec)):
            out[f"{name}/chords_{k + 1}{'+' if k + 1 == CHORD_SIZES else ''}"] = float(share)
        centroids[name] = part_centroids(dec, steps_per_quarter)
    names = list(centroids)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            (ca, sa), (cb, sb) = centroids[a], centroids[b]
            both = sa & sb
            d = np.linalg.norm(ca - cb, axis=-1)
            out[f"tonal_distance/{a}-{b}"] = float(d[both].mean()) if both.any() else float("nan")
    return out


@register("multitrack/musegan")
def musegan_figures(ctx: Context) -> dict:
    """MuseGAN's per-part figures (EB, UPC, QN, polyphony, chord sizes, drum pattern, tonal distance between
    parts) of the generated set (``gen/...``) and of the reference windows (``real/...``), for layouts of parts
    (band, piano); nothing for satb."""
    layout = layout_of_roles(ctx.gen.roles)
    if layout is None:
        return {}
    cfg = ctx.ref.config
    out = {f"gen/{k}": v for k, v in multitrack_figures(ctx.gen.tokens, layout, cfg.steps_per_quarter,
                                                         cfg.bar_steps, cfg.qn_steps).items()}
    data = ctx.ref.data
    if data is not None:
        real = ctx.ref.extra.get("multitrack")
        if real is None:
            split = list(data.splits) if ctx.ref.split == "all" else [ctx.ref.split]
            rolls = to_absolute(np.concatenate([data.splits[s]["rolls"] for s in split]), data.low)
            real = ctx.ref.extra["multitrack"] = multitrack_figures(rolls, layout, cfg.steps_per_quarter,
                                                                    cfg.bar_steps, cfg.qn_steps)
        out |= {f"real/{k}": v for k, v in real.items()}
    return out
