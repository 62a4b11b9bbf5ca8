"""Keys and register of a set of windows, on a hand-worked fixture."""

import numpy as np
import pytest

from divertimento.metrics.key_register import key_register_figures, window_modes, window_registers, window_tonics

R, H = 0, 1  # REST, HOLD; the onset of MIDI pitch p is token 2 + p


def on(p: int) -> int:
    return 2 + p


# [N, V=2, T=4]: C-E-G (C major) spread over two voices with holds and rests, G-D-B (G major), and silence
C_MAJOR = [[on(60), H, on(64), R], [R, on(67), H, H]]
G_MAJOR = [[on(67), on(62), R, R], [R, R, on(71), H]]
SILENT = [[R, R, R, R], [R, H, R, R]]
# A minor with its raised leading tone: A-C-E over G#-A, and the same notes with G natural and no A below: C major
A_MINOR = [[on(69), on(72), on(76), R], [on(68), H, on(57), H]]
C_MAJOR_TOO = [[on(67), on(72), on(76), R], [on(60), H, on(55), H]]


def test_tonics_and_registers_by_hand():
    tokens = np.array([C_MAJOR, G_MAJOR, SILENT], dtype=np.uint8)
    assert window_tonics(tokens).tolist() == [0, 7, -1]
    reg = window_registers(tokens)
    assert reg[:2] == pytest.approx([(60 + 64 + 67) / 3, (67 + 62 + 71) / 3]) and np.isnan(reg[2])


def test_modes_by_hand():
    tokens = np.array([C_MAJOR, G_MAJOR, SILENT, A_MINOR, C_MAJOR_TOO], dtype=np.uint8)
    assert window_modes(tokens).tolist() == [0, 0, -1, 1, 0]
    assert window_tonics(tokens).tolist() == [0, 7, -1, 9, 0]


def test_figures_by_hand():
    real = np.array([C_MAJOR, G_MAJOR], dtype=np.uint8)
    gen = np.array([C_MAJOR, SILENT], dtype=np.uint8)  # the silent window counts for neither figure
    f = key_register_figures(real, gen)
    # tonics: real {C: 1/2, G: 1/2}, generated {C: 1}: TV = (|1/2 - 1| + |1/2 - 0|) / 2
    assert f["tonic_tv"] == pytest.approx(0.5)
    # registers: real {63.67, 66.67} against {63.67}: half the mass moves 3 semitones
    assert f["register_w1"] == pytest.approx(1.5)
    assert key_register_figures(real, real) == {"tonic_tv": 0.0, "register_w1": 0.0}
