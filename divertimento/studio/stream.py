"""An endless stream of bars for games and installations, from a slowly moving latent path.

The path is a random walk on the prior's shell: each bar the anchor moves to ``mix(anchor, fresh, speed)``.
Bar k + 1 comes from a window whose latent is inverted (a few Adam steps, see ``chain.invert``) so that the
window's first bar is bar k as played; its second bar is emitted. Parameters may change between any two bars:
style (the next window is conditioned on it, and still grows out of the bar just played), intensity (the anchor
is pushed along the latent direction that most raises the number of notes, measured on the model by least
squares, and the onset logits are raised or lowered against holds and rests; below 0.25 the inner voices rest)
and tempo (only how fast bars are played).
"""

import threading
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import UserError
from ..sample.draw import piece_seed
from ..sample.pieces import DEFAULT_SOUND, STYLE_SOUND
from ..sample.sampler import Sampler
from .chain import FREE, InversionOptions, bar_steps, invert
from .latents import decode, draw, home, mix, style_index

STREAM = InversionOptions(steps=25, lr=0.2, prior=0.05, restarts=2)
INTENSITY_GAIN = 2.0  # latent units along the density direction between intensity 0.5 and 0 (or 1)
ONSET_BIAS = 2.5  # nats added to (or taken from) every note-onset logit between intensity 0.5 and 1 (or 0)
TEMPO_RANGE = (40.0, 220.0)

_DIRECTIONS: dict[int, tuple[torch.Tensor, float]] = {}
_DIR_LOCK = threading.Lock()


def density_direction(bundle: Sampler, n: int = 256, seed: int = 2024) -> tuple[torch.Tensor, float]:
    """Unit latent direction [Z] along which the number of notes grows fastest (ridge regression of notes per
    window on z over n samples), and the correlation of the fit. Memoised per model."""
    key = id(bundle.G)
    with _DIR_LOCK:
        if key in _DIRECTIONS:
            return _DIRECTIONS[key]
        drawn = [draw(bundle, (seed, i)) for i in range(n)]
        z = torch.stack([d[0] for d in drawn])
        s = torch.tensor([d[1] for d in drawn])
        tokens = decode(bundle, z, s, torch.stack([d[2] for d in drawn]))
        notes = (tokens >= 2).sum((1, 2)).astype(np.float64)
        Z = z.numpy().astype(np.float64)
        y = notes - notes.mean()
        w = np.linalg.solve(Z.T @ Z + 10.0 * np.eye(Z.shape[1]), Z.T @ y)
        corr = float(np.corrcoef(Z @ w, y)[0, 1]) if y.std() > 0 else 0.0
        d = torch.from_numpy(w / max(np.linalg.norm(w), 1e-9)).float()
        _DIRECTIONS[key] = (d, corr)
        return _DIRECTIONS[key]


@dataclass
class Bar:
    index: int  # bars since the stream began
    tokens: np.ndarray  # [V, bar] tokens as played (inner voices silenced at low intensity)
    notes: list  # [[voice, start step within the bar, length in steps, MIDI pitch], ...]; a note may run on
    style: str
    tempo: float  # quarters per minute
    intensity: float
    gen_ms: float  # time to compute this bar

    @property
    def duration_s(self) -> float:
        return 4 * 60.0 / self.tempo

    def to_json(self) -> dict:
        return {"type": "bar", "index": self.index, "notes": self.notes, "style": self.style, "tempo": self.tempo,
                "intensity": self.intensity, "gen_ms": round(self.gen_ms, 1),
                "bar_ms": round(1000 * self.duration_s, 1)}


class LiveStream:
    """Call ``next_bar()`` for each bar; ``set(...)`` any time between calls (thread-safe)."""

    def __init__(self, bundle: Sampler, seed: int = 0, style: str | None = None, intensity: float = 0.5,
                 tempo: float | None = None, speed: float = 0.2, opts: InversionOptions = STREAM):
        self.bundle, self.seed, self.speed, self.opts = bundle, seed, speed, opts
        self._lock = threading.Lock()
        z, s, _ = draw(bundle, (seed, 0), style)
        self.home = home(bundle, (seed, 0), s)  # one key for the whole stream (key-normalised models)
        self.style = s
        self.anchor = z
        self.intensity = 0.5
        self.tempo = float(STYLE_SOUND.get(bundle.style_names[s], DEFAULT_SOUND)[1])
        self.set(style=None, intensity=intensity, tempo=tempo)
        self.index = 0
        self.previous: np.ndarray | None = None  # [V, bar] the last bar as generated (all voices)
        self.rng = torch.Generator().manual_seed(piece_seed(seed, 31337))
        self.direction = density_direction(bundle)[0]

    def set(self, style: str | None = None, intensity: float | None = None, tempo: float | None = None) -> None:
        with self._lock:
            if style is not None:
                self.style = style_index(self.bundle, style)
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
        G = self.bundle.G
        bar = bar_steps(self.bundle)
        with self._lock:
            style, intensity, tempo = self.style, self.intensity, self.tempo
        eps = torch.randn(G.z_dim, generator=self.rng)
        self.anchor = mix(self.anchor, eps, self.speed)
        anchor = self.anchor + (intensity - 0.5) * 2 * INTENSITY_GAIN * self.direction
        u = torch.rand(G.n_voices, G.n_steps, G.vocab_size, generator=self.rng).clamp_(1e-9, 1 - 1e-9)
        noise = -torch.log(-torch.log(u))
        target = np.full((G.n_voices, G.n_steps), FREE, dtype=np.int64)
        if self.previous is not None:
            target[:, :bar] = self.previous
        z, _ = invert(self.bundle, target, style, anchor, self.opts, seed=self.seed * 7919 + self.index)
        bias = torch.zeros(G.vocab_size)
        bias[2:] = (intensity - 0.5) * 2 * ONSET_BIAS  # onsets against rests and holds
        tok = decode(self.bundle, z[None], style, noise[None], bias=bias)[0]
        tok = np.where(target != FREE, target, tok)
        new = tok[:, :bar] if self.previous is None else tok[:, bar : 2 * bar]
        # a note held over the barline continues: HOLD at the start of the bar is kept as HOLD
        self.previous = new.copy()
        played = new.copy()
        if intensity < 0.25:
            played[1:3] = 0  # inner voices rest
        notes = []
        for v in range(played.shape[0]):
            row = played[v]
            for t in range(bar):
                if row[t] >= 2:
                    end = t + 1
                    while end < bar and row[end] == 1:
                        end += 1
                    notes.append([v, t, end - t, int(row[t]) - 2 + self.bundle.low + self.home])
        out = Bar(self.index, played, notes, self.bundle.style_names[style], tempo, intensity,
                  1000 * (time.perf_counter() - t0))
        self.index += 1
        return out
