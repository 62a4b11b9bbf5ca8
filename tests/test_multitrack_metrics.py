"""MuseGAN's multi-track figures on a hand-made two-bar band window, every value worked out by hand (the tonal
distances from the trigonometric definition, not the module's matrix)."""

import math

import numpy as np
import pytest

from divertimento.metrics.multitrack import layout_of_roles, multitrack_figures
from divertimento.music.layouts import BAND, SATB
from divertimento.music.roll import HOLD

T = 32  # two 4/4 bars of 16 steps


def note(row, start, length, pitch):
    row[start] = 2 + pitch
    row[start + 1 : start + length] = HOLD


def window():
    w = np.zeros((1, len(BAND.roles), T), dtype=np.uint8)
    r = {name: w[0, i] for i, name in enumerate(BAND.roles)}
    for s in (0, 8, 16, 24):
        note(r["drums 1"], s, 1, 36)  # kick
    for s in list(range(0, 32, 2)) + [3]:
        note(r["drums 3"], s, 1, 42)  # hi-hat on 8ths, one extra on the 4th 16th
    for lane, p in zip(("piano 1", "piano 2", "piano 3"), (67, 64, 60)):
        note(r[lane], 0, 16, p)  # C major held through bar 1; bar 2 silent
    note(r["bass"], 0, 8, 36)
    note(r["bass"], 8, 8, 36)
    note(r["bass"], 16, 16, 36)
    note(r["guitar 1"], 2, 1, 64)  # E4, a 16th
    note(r["guitar 2"], 18, 4, 67)  # G4, a quarter, in another lane: neither bar is empty for the guitar
    return w


def centroid(pcs):
    """Harte's tonal centroid of equal weights on pitch classes ``pcs``."""
    out = np.zeros(6)
    for pc in pcs:
        for j, (r, a) in enumerate(((1, 7 * math.pi / 6), (1, 3 * math.pi / 2), (0.5, 2 * math.pi / 3))):
            out[2 * j] += r * math.sin(pc * a) / len(pcs)
            out[2 * j + 1] += r * math.cos(pc * a) / len(pcs)
    return out


def dist(a, b):
    return float(np.linalg.norm(centroid(a) - centroid(b)))


def test_band_figures_by_hand():
    f = multitrack_figures(window(), BAND, steps_per_quarter=4, bar_steps=16, qn_steps=2)
    # drums: 4 kicks + 17 hats = 21 hits, 20 on eighth positions; bar patterns differ at step 3 only
    assert f["drums/eighth_share"] == pytest.approx(20 / 21)
    assert f["drums/pattern_consistency"] == pytest.approx(1 - 1 / 16)
    assert f["drums/eb"] == 0
    # piano: bar 2 empty; bar 1 has C, E, G; three 16-step notes; every sounding step has 3 pitches; one chord of 3
    assert (f["piano/eb"], f["piano/upc"], f["piano/qn"], f["piano/polyphony"]) == (0.5, 3, 1, 1)
    assert [f[f"piano/chords_{k}"] for k in ("1", "2", "3", "4+")] == [0, 0, 1, 0]
    # bass: C in both bars, no chords; guitar: a 16th (not qualified at 2 steps) and a quarter
    assert (f["bass/eb"], f["bass/upc"], f["bass/qn"], f["bass/polyphony"]) == (0, 1, 1, 0)
    assert (f["guitar/eb"], f["guitar/upc"], f["guitar/qn"]) == (0, 1, 0.5)
    assert f["strings/eb"] == 1 and math.isnan(f["strings/upc"])
    # tonal distance over the beats both parts sound: piano-bass beats 1-4 (CEG vs C);
    # piano-guitar beat 1 only (CEG vs E); guitar-bass beats 1 (E vs C), 5 and 6 (G vs C)
    assert f["tonal_distance/piano-bass"] == pytest.approx(dist([0, 4, 7], [0]))
    assert f["tonal_distance/piano-guitar"] == pytest.approx(dist([0, 4, 7], [4]))
    assert f["tonal_distance/guitar-bass"] == pytest.approx((dist([4], [0]) + 2 * dist([7], [0])) / 3)
    assert math.isnan(f["tonal_distance/piano-strings"])


def test_only_layouts_of_parts_have_multitrack_figures():
    assert layout_of_roles(BAND.roles) is BAND and layout_of_roles(SATB.roles) is None
