"""An endless stream of bars for games and installations, drawn bar by bar from the sequence model.

Bar k + 1 is the last bar of a window whose first bars are the last bars played (up to 3), given
(``Engine.window``): the stream is one continuous piece of the model's music, with no seams. Parameters may change
between any two bars: style (the next bar is conditioned on it, and still grows out of the bars just played),
intensity (note onsets' logits are raised or lowered against holds and rests, by up to ONSET_BIAS nats; below 0.25
the inner voices rest) and tempo (only how fast bars are played).
"""

import threading
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import UserError
from ..models.smc import FREE
from ..music.roll import FIRST_PITCH_TOKEN
from ..sample.pieces import style_tempo
from .engine import Engine, rng_for
from .pieces import STEPS_PER_QUARTER

CONTEXT_BARS = 3  # bars played that the next bar grows out of (a window holds 4)
ONSET_BIAS = 1.5  # nats added to (or taken from) every note-onset logit between intensity 0.5 and 1 (or 0)
TEMPO_RANGE = (40.0, 220.0)

@dataclass
class Bar:
    index: int  # bars since the stream began
    tokens: np.ndarray  # [V, bar] tokens as played (inner voices silenced at low intensity)
    notes: list  # [[voice, start step within the bar, length in steps, MIDI pitch], ...]; a note may run on
    style: str
    tempo: float  # quarters per minute
    intensity: float
    gen_ms: float  # time to compute this bar

    meter: str = "4/4"

    @property
    def duration_s(self) -> float:
        return self.tokens.shape[1] / STEPS_PER_QUARTER * 60.0 / self.tempo

    def to_json(self) -> dict:
        return {"type": "bar", "index": self.index, "notes": self.notes, "style": self.style, "tempo": self.tempo,
                "meter": self.meter, "steps_per_bar": int(self.tokens.shape[1]),
                "intensity": self.intensity, "gen_ms": round(self.gen_ms, 1),
                "bar_ms": round(1000 * self.duration_s, 1)}


class LiveStream:
    """Call ``next_bar()`` for each bar; ``set(...)`` any time between calls (thread-safe)."""

    def __init__(self, engine: Engine, seed: int = 0, style: str | None = None, intensity: float = 0.5,
                 tempo: float | None = None):
        self.engine, self.seed = engine, seed
        self._lock = threading.Lock()
        if style is not None:
            engine.style_index(style)  # an unknown style: the one clear error, now
        d = engine.sampler.draw(seed, 0, style=style, options=engine.options)  # the key generate draws
        s, self.home = d.style, d.home  # one key for the whole stream (key-normalised models)
        self.style = s
        self.intensity = 0.5
        self.tempo = style_tempo(engine.style_names[s], engine.sampler.meter_names[engine.home_meter(s)],
                                 engine.manifest.get("style_tempos"))
        self.set(style=None, intensity=intensity, tempo=tempo)
        self.index = 0
        self.played = np.zeros((engine.n_voices, 0), dtype=np.int64)  # the last bars as drawn (all voices)
        self.rng = rng_for(seed, 31337)

    def set(self, style: str | None = None, intensity: float | None = None, tempo: float | None = None) -> None:
        with self._lock:
            if style is not None:
                self.style = self.engine.style_index(style)
            if intensity is not None:
                if not 0.0 <= intensity <= 1.0:
                    raise UserError(f"intensity must lie in 0..1 (got {intensity})")
                self.intensity = float(intensity)
            if tempo is not None:
                if not TEMPO_RANGE[0] <= tempo <= TEMPO_RANGE[1]:
                    raise UserError(f"tempo must lie in {TEMPO_RANGE[0]:g}..{TEMPO_RANGE[1]:g} (got {tempo})")
                self.tempo = float(tempo)

    def next_bar(self) -> Bar:
        t0 = time.perf_counter()
        e = self.engine
        with self._lock:
            style, intensity, tempo = self.style, self.intensity, self.tempo
        meter = e.home_meter(style)  # the style's most common meter: a change of style may change the meter
        bar = e.bar_of(meter)
        # the window must hold the context and the new bar: three bars of 4/4 fit in a 16-quarter window, but only
        # one of 4/2 or 12/8 does (more made a window longer than the model's and ended the stream at bar 2)
        room = (e.n_steps // bar - 1) * bar
        context = self.played[:, self.played.shape[1] - min(room, self.played.shape[1]):]
        c = context.shape[1]
        given = np.full((e.n_voices, c + bar), FREE, dtype=np.int64)
        given[:, :c] = context
        bias = torch.zeros(e.n_voices, c + bar, e.vocab_size)
        bias[:, c:, FIRST_PITCH_TOKEN:] = (intensity - 0.5) * 2 * ONSET_BIAS  # onsets against rests and holds
        new = e.window(style, given, self.rng, bias=bias, meter=meter)[:, c:]
        self.played = np.concatenate([self.played, new], axis=1)[:, -CONTEXT_BARS * bar :]
        played = new.copy()
        if intensity < 0.25:
            played[1:3] = 0  # inner voices rest
        notes = []
        for v in range(played.shape[0]):
            row = played[v]
            for t in range(bar):
                if row[t] >= FIRST_PITCH_TOKEN:
                    end = t + 1
                    while end < bar and row[end] == 1:
                        end += 1
                    notes.append([v, t, end - t, int(row[t]) - FIRST_PITCH_TOKEN + e.low + self.home])
        out = Bar(self.index, played, notes, e.style_names[style], tempo, intensity,
                  1000 * (time.perf_counter() - t0), e.sampler.meter_names[meter])
        self.index += 1
        return out
