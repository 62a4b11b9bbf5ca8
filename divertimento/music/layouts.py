"""Named track layouts: which roles a window has and how a piece's tracks are fitted to them."""

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from .notes import PITCH, Piece, to_monophonic


@dataclass(frozen=True)
class Layout:
    name: str
    roles: tuple[str, ...]  # one name per track of a window, top to bottom
    monophonic: bool  # True: one token per role per step; False: an OFF/SUSTAIN/ONSET plane per role
    programs: tuple[int, ...]  # General MIDI program per role for export
    drums: tuple[bool, ...]  # which roles are drum tracks (channel 10)
    melody_role: int = 0  # where a single-line tune goes


LAYOUTS: dict[str, Layout] = {}


def register_layout(layout: Layout) -> Layout:
    LAYOUTS[layout.name] = layout
    return layout


SATB = register_layout(
    Layout("satb", ("soprano", "alto", "tenor", "bass"), True, (52, 52, 52, 52), (False,) * 4)
)
# LPD-5 style band: polyphonic rolls, drums included (pitches are GM drum keys there).
BAND = register_layout(
    Layout("band", ("drums", "piano", "guitar", "bass", "strings"), False, (0, 0, 25, 33, 48),
           (True, False, False, False, False), melody_role=1)
)


def get_layout(name: str) -> Layout:
    if name not in LAYOUTS:
        raise UserError(f"unknown layout {name!r}; choose one of {', '.join(LAYOUTS)}")
    return LAYOUTS[name]


# Typical centre pitches of the four voices, used to place 2-3 part pieces (MIDI numbers).
_VOICE_CENTRES = {"soprano": 69, "alto": 62, "tenor": 57, "bass": 48}
_NAME_HINTS = {
    "soprano": ("soprano", "sopran", "cantus", "superius", "discantus", "treble", "melody", "violin i"),
    "alto": ("alto", "altus", "contra", "violin ii"),
    "tenor": ("tenor", "viola"),
    "bass": ("bass", "bassus", "basso", "cello", "continuo"),
}


def _by_name(tracks) -> dict[str, int] | None:
    """Map roles to track indices when every role is named exactly once (e.g. Bach's Soprano/Alto/Tenor/Bass)."""
    found: dict[str, int] = {}
    for i, t in enumerate(tracks):
        name = t.name.lower().strip()
        for role, hints in _NAME_HINTS.items():
            if any(name == h or name.startswith(h + " ") or name.startswith(h) for h in hints) and role not in found:
                found[role] = i
                break
    return found if len(found) == 4 else None


def fit_satb(piece: Piece) -> list[np.ndarray] | str:
    """Four monophonic note arrays (S, A, T, B) from a piece, or a reason string when it cannot fit.

    One line goes to the soprano (folk tunes). Named S/A/T/B parts go to their voices. Otherwise tracks are
    ordered by mean pitch: the highest is the soprano, the lowest the bass, and the inner voices are the tracks
    whose mean pitch is nearest the alto and tenor centres. Polyphonic tracks are reduced to their top line
    (their bottom line for the bass)."""
    tracks = [t for t in piece.tracks if not t.is_drum and len(t.notes)]
    if not tracks:
        return "no pitched notes"
    roles = SATB.roles
    voices = [np.zeros((0, 4), dtype=np.int32) for _ in roles]
    if len(tracks) == 1:
        voices[0] = to_monophonic(tracks[0].notes, "highest")
        return voices
    named = _by_name(tracks) if len(tracks) >= 4 else None
    if named:
        chosen = {role: tracks[i] for role, i in named.items()}
    else:
        order = sorted(tracks, key=lambda t: -float(t.notes[:, PITCH].mean()))
        chosen = {"soprano": order[0], "bass": order[-1]}
        inner = order[1:-1]
        for role in ("alto", "tenor"):
            if not inner:
                break
            best = min(inner, key=lambda t: abs(float(t.notes[:, PITCH].mean()) - _VOICE_CENTRES[role]))
            chosen[role] = best
            inner = [t for t in inner if t is not best]
    for k, role in enumerate(roles):
        if role in chosen:
            voices[k] = to_monophonic(chosen[role].notes, "lowest" if role == "bass" else "highest")
    return voices


def band_role(program: int, is_drum: bool) -> int:
    """LPD-5 category of a General MIDI program: drums, piano, guitar, bass, or strings (everything else)."""
    if is_drum:
        return 0
    if program < 24:  # pianos, chromatic percussion, organs
        return 1
    if program < 32:
        return 2
    if program < 40:
        return 3
    return 4


def fit_band(piece: Piece) -> list[np.ndarray] | str:
    """Five polyphonic note arrays (drums, piano, guitar, bass, strings), merging tracks of a category."""
    parts: list[list[np.ndarray]] = [[] for _ in BAND.roles]
    for t in piece.tracks:
        if len(t.notes):
            parts[band_role(t.program, t.is_drum)].append(t.notes)
    if not any(parts):
        return "no notes"
    return [np.concatenate(p) if p else np.zeros((0, 4), dtype=np.int32) for p in parts]


def fit_layout(piece: Piece, layout: Layout) -> list[np.ndarray] | str:
    return fit_satb(piece) if layout.name == "satb" else fit_band(piece)
