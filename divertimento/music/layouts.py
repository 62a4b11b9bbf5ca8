"""Named track layouts: which parts a window has, how many token rows (lanes) each part gets, and how a piece's
tracks are fitted to them.

Every layout is a stack of monophonic token rows, so one sequence model, its adversarial training, its critics and
every metric serve all layouts. A polyphonic part (a piano's chords, a drum kit) is spread over several lanes:
``music/lanes.py`` says how, and counts the notes a lane limit leaves out.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from .lanes import drum_lanes, pitched_lanes
from .notes import PITCH, Piece, to_monophonic


@dataclass(frozen=True)
class Part:
    name: str  # "soprano", "piano", "drums"
    program: int  # General MIDI program of the exported track
    drum: bool = False  # a drum kit: pitches are GM drum keys, never transposed, written on channel 10
    lanes: int = 1  # token rows; a part sounds at most this many notes at once (drums: one lane per drum family)


@dataclass(frozen=True)
class Layout:
    name: str
    parts: tuple[Part, ...]
    melody_role: int = 0  # the voice a single-line tune goes to

    @property
    def roles(self) -> tuple[str, ...]:
        """One name per token row, top to bottom: the part's name, numbered when it has several lanes."""
        return tuple(p.name if p.lanes == 1 else f"{p.name} {k + 1}" for p in self.parts for k in range(p.lanes))

    @property
    def voice_parts(self) -> tuple[int, ...]:
        """For each token row, the index of its part."""
        return tuple(i for i, p in enumerate(self.parts) for _ in range(p.lanes))

    @property
    def drum_voices(self) -> tuple[bool, ...]:
        return tuple(self.parts[i].drum for i in self.voice_parts)

    @property
    def outer_voices(self) -> tuple[int, ...]:
        """The token rows that carry a piece's outer voices, the top line and the bass, which sound the tonic at a
        final cadence: satb's soprano and bass; the band's top piano lane and its bass; a piano's top lane."""
        pitched = [v for v, d in enumerate(self.drum_voices) if not d]
        bass = [v for v, r in enumerate(self.roles) if r.startswith("bass")]
        top = self.melody_role if not self.drum_voices[self.melody_role] else pitched[0]
        if self.multi_part and not bass:  # a piano's lanes fill from the top, so its lowest lane is often silent
            return (top,)
        return tuple(sorted({top, bass[-1] if bass else pitched[-1]}))

    @property
    def multi_part(self) -> bool:
        """Exported as tracks that each merge their part's lanes (band, piano); satb writes one track per voice."""
        return any(p.lanes > 1 or p.drum for p in self.parts)


LAYOUTS: dict[str, Layout] = {}


def register_layout(layout: Layout) -> Layout:
    LAYOUTS[layout.name] = layout
    return layout


SATB = register_layout(Layout("satb", tuple(Part(r, 52) for r in ("soprano", "alto", "tenor", "bass"))))
# The LPD-5 families of Lakh-style band music (MuseGAN's tracks), drums first so every pitched part is drawn
# knowing the beat. Lanes: four drum families; piano chords of four notes, guitar and strings of three; one bass.
BAND = register_layout(Layout("band", (
    Part("drums", 0, drum=True, lanes=4), Part("piano", 0, lanes=4), Part("guitar", 25, lanes=3),
    Part("bass", 33, lanes=1), Part("strings", 48, lanes=3)), melody_role=4))  # the top piano lane
# Solo piano (MAESTRO-like, Joplin's rags, song accompaniments): one track, up to six notes at once.
PIANO = register_layout(Layout("piano", (Part("piano", 0, lanes=6),)))


def drum_lanes_of(roles) -> np.ndarray:
    """[V] bool: which of these token-row names are drum lanes of a registered layout ("drums 1", ...)."""
    drums = {r for layout in LAYOUTS.values() for r, d in zip(layout.roles, layout.drum_voices) if d}
    return np.asarray([r in drums for r in roles], dtype=bool)


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


_DRUM_NAMES = ("drum", "perc", "kit")


def looks_like_drums(track) -> bool:
    """A drum track written on a channel other than 10 still says so in its name ("Drums", "Percussion")."""
    name = track.name.lower()
    return track.is_drum or any(h in name for h in _DRUM_NAMES)


def band_part(program: int, is_drum: bool) -> int:
    """LPD-5 family of a General MIDI program: drums, piano, guitar, bass, or strings (everything else, as in
    LPD-5: ensembles, brass, reeds, pipes, synths)."""
    if is_drum:
        return 0
    if program < 24:  # pianos, chromatic percussion, organs
        return 1
    if program < 32:
        return 2
    if program < 40:
        return 3
    return 4


@dataclass
class Fitted:
    """A piece fitted to a layout: one monophonic note array per token row, and what happened to each track."""

    voices: list[np.ndarray]
    tracks: list[dict]  # per source track: name, program, drum, part (or None), notes, kept, reason for the rest


def _fit_parts(piece: Piece, layout: Layout, part_of) -> Fitted | str:
    """Merge each part's tracks and spread them over the part's lanes; ``part_of(track)`` is a part index or a
    reason string the track is left out for."""
    merged: list[list[np.ndarray]] = [[] for _ in layout.parts]
    report = []
    for t in piece.tracks:
        if not len(t.notes):
            continue
        p = part_of(t)
        entry = {"name": t.name, "program": int(t.program), "drum": bool(looks_like_drums(t)), "notes": len(t.notes)}
        if isinstance(p, str):
            report.append(entry | {"part": None, "kept": 0, "left_out": p})
            continue
        report.append(entry | {"part": layout.parts[p].name})
        merged[p].append(t.notes)
    if not any(merged):
        return "no track fits the layout (" + "; ".join(sorted({r["left_out"] for r in report})) + ")" \
            if report else "no notes"
    voices, kept_by_part = [], []
    for part, notes in zip(layout.parts, merged):
        notes = np.concatenate(notes) if notes else np.zeros((0, 4), dtype=np.int32)
        lanes = drum_lanes(notes, part.lanes) if part.drum else pitched_lanes(notes, part.lanes)
        voices.extend(lanes.lanes)
        kept_by_part.append(lanes)
    for entry in report:  # a part's drops are shared among its tracks in proportion to their notes
        if entry.get("part") is None:
            continue
        k = [p.name for p in layout.parts].index(entry["part"])
        lanes = kept_by_part[k]
        share = entry["notes"] / max(lanes.total, 1)
        entry["kept"] = entry["notes"] - round(lanes.dropped * share)
        if lanes.dropped:
            entry["left_out"] = f"more than {layout.parts[k].lanes} notes at once in the {entry['part']} " \
                                f"({lanes.dropped} of {lanes.total} notes of the part)"
    return Fitted(voices, report)


def fit_layout(piece: Piece, layout: Layout) -> Fitted | str:
    """A piece's tracks on the layout's token rows, or the reason it cannot be fitted."""
    if layout.name == "satb":
        voices = fit_satb(piece)
        if isinstance(voices, str):
            return voices
        # which track became which voice is fit_satb's choice by name and register; the report lists the tracks
        return Fitted(voices, [{"name": t.name, "program": int(t.program), "drum": bool(t.is_drum),
                                "notes": len(t.notes)}
                               | ({"part": None, "kept": 0, "left_out": "drums (the satb layout has no drum part)"}
                                  if t.is_drum else {"part": "satb"})
                               for t in piece.tracks if len(t.notes)])
    if layout.name == "band":
        return _fit_parts(piece, layout, lambda t: band_part(t.program, looks_like_drums(t)))
    return _fit_parts(piece, layout, _piano_part(piece, layout))


KEYBOARDS = range(0, 8)  # General MIDI pianos (acoustic, electric, harpsichord, clavinet)


def _piano_part(piece: Piece, layout: Layout):
    """Which tracks the piano layout takes: the piece's keyboard tracks (both hands) when it has any, else every
    pitched track, as a piano reduction (a string quartet, a hymn)."""
    pitched = [t for t in piece.tracks if len(t.notes) and not looks_like_drums(t)]
    has_keys = any(t.program in KEYBOARDS for t in pitched) and len(pitched) > 1

    def part_of(t):
        if looks_like_drums(t):
            return f"drums (the {layout.name} layout has no drum part)"
        if has_keys and t.program not in KEYBOARDS:
            return f"not a keyboard track (program {t.program}) in a piece with a piano part"
        return 0
    return part_of
