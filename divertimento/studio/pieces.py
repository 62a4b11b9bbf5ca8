"""What the studio hands out: token music plus everything needed to vary, continue or steer from it."""

from dataclasses import dataclass, field

import numpy as np

from ..music.notes import Piece
from ..sample.pieces import DEFAULT_SOUND, STYLE_SOUND, tokens_to_piece
from ..sample.sampler import Sampler


@dataclass
class StudioPiece:
    tokens: np.ndarray  # [V, T] uint8 tokens relative to the model's lowest pitch
    style: str  # style name the model was conditioned on
    anchors: np.ndarray  # [W, Z] float32: the latent each window was pulled toward (its section of the form)
    latents: np.ndarray  # [W, Z] float32: the latent each window was decoded from (after inversion)
    form: str  # one letter per window, e.g. "A" (one window) or "AABA"; equal letters share an anchor
    noise: tuple[int, int]  # (seed, index) the Gumbel sampling noise is drawn from
    temperature: float  # sampling temperature used
    kind: str  # generated | long-form | variation | interpolation | harmonised | continued | for-you
    title: str
    melody_locked: bool = False  # True: the soprano is given (harmonisation) and stays as it is
    originality: dict | None = None  # see originality.py
    meta: dict = field(default_factory=dict)  # seed, parents, fit figures, ...
    tempo: float | None = None  # quarters per minute; None = the style's default

    @property
    def n_bars(self) -> int:
        return self.tokens.shape[1] // 16

    @property
    def home(self) -> int:
        """Semitones the tokens are moved by when heard: a key-normalised model composes on the white keys and
        each piece keeps one key (see latents.home); 0 for other models."""
        return int(self.meta.get("home", 0))

    def to_piece(self, bundle: Sampler) -> Piece:
        p = tokens_to_piece(self.tokens, bundle.low + self.home, bundle.manifest, self.style, self.title)
        if self.tempo:
            p.tempo_qpm = float(self.tempo)
        return p

    def sound(self) -> tuple[int, float]:
        program, tempo = STYLE_SOUND.get(self.style, DEFAULT_SOUND)
        return program, float(self.tempo or tempo)

    def notes(self, bundle: Sampler) -> list[list[int]]:
        """[[voice, start step, length in steps, MIDI pitch], ...] for drawing and the in-page synth."""
        out = []
        for v, track in enumerate(self.to_piece(bundle).tracks):
            out += [[v, int(n[0]), int(n[1]), int(n[2])] for n in track.notes]
        return sorted(out, key=lambda r: (r[1], r[0]))

    # ---- bytes for storage (SQLite blobs): numpy arrays without pickle ----

    def arrays(self) -> dict[str, bytes]:
        return {"tokens": np.ascontiguousarray(self.tokens, dtype=np.uint8).tobytes(),
                "anchors": np.ascontiguousarray(self.anchors, dtype=np.float32).tobytes(),
                "latents": np.ascontiguousarray(self.latents, dtype=np.float32).tobytes()}

    def header(self) -> dict:
        return {"style": self.style, "form": self.form, "noise": list(self.noise), "temperature": self.temperature,
                "kind": self.kind, "title": self.title, "melody_locked": self.melody_locked,
                "originality": self.originality, "meta": self.meta, "tempo": self.tempo,
                "shape": list(self.tokens.shape), "z_dim": int(np.shape(self.anchors)[-1])}

    @classmethod
    def from_stored(cls, header: dict, arrays: dict[str, bytes]) -> "StudioPiece":
        V, T = header["shape"]
        Z = header["z_dim"]
        tokens = np.frombuffer(arrays["tokens"], dtype=np.uint8).reshape(V, T).copy()
        anchors = np.frombuffer(arrays["anchors"], dtype=np.float32).reshape(-1, Z).copy()
        latents = np.frombuffer(arrays["latents"], dtype=np.float32).reshape(-1, Z).copy()
        return cls(tokens, header["style"], anchors, latents, header["form"], tuple(header["noise"]),
                   float(header["temperature"]), header["kind"], header["title"], bool(header["melody_locked"]),
                   header.get("originality"), header.get("meta", {}), header.get("tempo"))
