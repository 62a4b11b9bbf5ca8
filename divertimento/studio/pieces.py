"""What the studio hands out: token music plus everything needed to vary, continue or steer from it."""

from dataclasses import dataclass, field

import numpy as np

from ..data.conditions import bar_steps
from ..music.notes import Piece
from ..sample.pieces import DEFAULT_SOUND, STYLE_SOUND, style_tempo, tokens_to_piece
from .engine import Engine

STEPS_PER_QUARTER = 4  # the studio's models are trained on 16th notes (the default of ``prepare``)


@dataclass
class StudioPiece:
    tokens: np.ndarray  # [V, T] uint8 tokens relative to the model's lowest pitch
    style: str  # style name the model was conditioned on
    form: str  # one letter per section of 4 bars, e.g. "A" or "AABA"; a letter heard again is its section again
    noise: tuple[int, int]  # (seed, index) the piece was drawn as
    temperature: float  # sampling temperature used
    kind: str  # generated | long-form | variation | interpolation | harmonised | continued | for-you
    title: str
    melody_locked: bool = False  # True: the soprano is given (harmonisation) and stays as it is
    originality: dict | None = None  # see originality.py
    meta: dict = field(default_factory=dict)  # seed, parents, fit figures, ...
    tempo: float | None = None  # quarters per minute; None = the style's default in the piece's meter
    meter: str = "4/4"  # the time signature its tokens start their bars in (step 0 is a downbeat)

    @property
    def bar(self) -> int:
        """Steps per bar (the studio's grid is 4 steps per quarter)."""
        return int(bar_steps(self.meter, STEPS_PER_QUARTER))

    @property
    def pickup(self) -> int:
        """Steps of the upbeat the piece opens with (its tokens then start on it, not on a barline); 0 for none."""
        return int(self.meta.get("pickup_steps", 0))

    @property
    def n_bars(self) -> int:
        return -(-self.tokens.shape[1] // self.bar)

    @property
    def home(self) -> int:
        """Semitones the tokens are moved by when heard: a key-normalised model composes on the white keys and
        each piece keeps the key its first window was drawn in (``Engine.first_window``); 0 for other models."""
        return int(self.meta.get("home", 0))

    def to_piece(self, engine: Engine) -> Piece:
        p = tokens_to_piece(self.tokens, engine.low + self.home, engine.manifest, self.style, self.title,
                            self.meter, self.pickup)
        if self.tempo:
            p.tempo_qpm = float(self.tempo)
        # where its phrases end, which bars are played twice, and which forms its strains were chosen in
        for mark in ("fermatas", "repeats", "strains"):
            if self.meta.get(mark):
                p.meta[mark] = self.meta[mark]
        return p

    def sound(self, data_tempos: dict | None = None) -> tuple[int, float]:
        """(General MIDI program, quarters per minute) the page plays the piece with: its own tempo, else its
        style's (``data_tempos``: the model's data summary's ``style_tempos``), as its exported files have."""
        program = STYLE_SOUND.get(self.style, DEFAULT_SOUND)[0]
        return program, float(self.tempo or style_tempo(self.style, self.meter, data_tempos))

    @staticmethod
    def drum_tracks(engine: Engine) -> list[bool]:
        """Per voice index of ``notes`` (a track of ``to_piece``: a part of a band or piano layout, a voice of
        satb), whether it is a drum track, played as hits on GM drum keys."""
        layout = engine.layout
        return [p.drum for p in layout.parts] if layout.multi_part else [False] * len(layout.roles)

    def notes(self, engine: Engine) -> list[list[int]]:
        """[[voice, start step, length in steps, MIDI pitch], ...] for drawing and the in-page synth."""
        out = []
        for v, track in enumerate(self.to_piece(engine).tracks):
            out += [[v, int(n[0]), int(n[1]), int(n[2])] for n in track.notes]
        return sorted(out, key=lambda r: (r[1], r[0]))

    # ---- bytes for storage (SQLite blobs): numpy arrays without pickle ----

    def arrays(self) -> dict[str, bytes]:
        return {"tokens": np.ascontiguousarray(self.tokens, dtype=np.uint8).tobytes()}

    def header(self) -> dict:
        return {"style": self.style, "form": self.form, "noise": list(self.noise), "temperature": self.temperature,
                "kind": self.kind, "title": self.title, "melody_locked": self.melody_locked,
                "originality": self.originality, "meta": self.meta, "tempo": self.tempo, "meter": self.meter,
                "shape": list(self.tokens.shape)}

    @classmethod
    def from_stored(cls, header: dict, arrays: dict[str, bytes]) -> "StudioPiece":
        V, T = header["shape"]
        tokens = np.frombuffer(arrays["tokens"], dtype=np.uint8).reshape(V, T).copy()
        return cls(tokens, header["style"], header["form"], tuple(header["noise"]),
                   float(header["temperature"]), header["kind"], header["title"], bool(header["melody_locked"]),
                   header.get("originality"), header.get("meta", {}), header.get("tempo"),
                   header.get("meter", "4/4"))
