"""The studio's engine: a sequence model's windows chained into pieces of any length, with given tokens (a melody
to harmonise, the bars a variation keeps, the bars a piece continues from) honoured exactly.

A window is ``n_steps`` long (16 quarters: 4 bars of 4/4). A piece longer than one window is drawn window by window:
each later window starts on a barline with the last bars already decided (``CONTEXT_QUARTERS``), given, and draws
whole bars after them, so the music grows out of what precedes it as the model learnt music to. Tokens given beyond
that context (a melody, kept cells) are honoured by sequential Monte Carlo over ``particles`` draws
(``models/smc.py``): the free voices then follow the model's distribution given the whole given line, future notes
included, not only its past.

A guided model's critic picks the kept particle of a full window by its calibrated density ratio, as the guided
sampler picks among its K candidates, so the studio samples the same distribution as ``generate``; with
``resample_every`` its causal critic steers the particles of every window as they grow (``models/twisted.py``),
a window with given tokens included.
"""

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import UserError
from ..models.factory import STUDIO_MODEL
from ..models.guided import candidate_count, resample_steps
from ..models.smc import FREE, pick, sample_given
from ..music.layouts import Layout, get_layout
from ..sample.draw import check_meter, gumbel_noise, piece_seed
from ..sample.pieces import MIN_VOICE_USE, silence_unused_voices
from ..sample.sampler import Sampler, load_sampler
from .strains import strains_from_header

CONTEXT_QUARTERS = 8  # what precedes that each later window starts from: two bars of 4/4, four of 2/4, two of 3/4
# or 6/8, one of 9/8, 12/8 or 4/2 (whole bars, at least one, leaving the window room for one new bar)
GIVEN_PARTICLES = 16  # particles for a window with given tokens beyond its context (melody, kept cells)

Pair = tuple[int, int]  # (run seed, piece index), the identity of a drawn piece


def load_studio_model(model: str | None) -> "Engine":
    """The studio's model (a shipped name or path; default STUDIO_MODEL) in its engine; one clear line for a model
    that cannot be sampled with given tokens."""
    return Engine(load_sampler(model or STUDIO_MODEL))


def rng_for(seed: int, *path: int) -> torch.Generator:
    """A generator for one named use (piece, section, variation...) of a seed: ``path`` picks the use."""
    s = seed
    for p in path:
        s = piece_seed(s, p)
    return torch.Generator().manual_seed(s)


@dataclass
class Engine:
    sampler: Sampler
    strict: bool | None = None  # strict voice leading; None: what the model file recommends
    overrides: dict | None = None  # the family's sampling options over the file's recommendation (guided: beta)
    strain_options: dict | None = None  # strain_candidates, strain_beta over the file's strains (studio/strains.py)

    def __post_init__(self):
        m = self.sampler.module
        if "mode_names" in self.sampler.manifest:
            raise UserError(f"{self.sampler.path.name} is conditioned on mode: the studio does not yet keep a piece's "
                            "mode from window to window (evaluate and the protocol draw its windows)")
        self.sequence = getattr(m, "base", m)  # a guided model samples its proposal and picks by its critic
        if not hasattr(self.sequence, "step"):
            raise UserError(f"the studio needs a sequence model (mle or guided) that can be sampled with given notes; "
                            f"{self.sampler.path.name} is a {self.sampler.family} model (divertimento models)")
        if self.strict is None:
            self.strict = self.sampler.strict_voice_leading
        options = self.options = self.sampler.options(self.overrides)
        # the critic's density ratio picks among particles (a guided file recommending the likelihood control: none)
        self.critic = getattr(m, "log_ratio", None) if options.get("rerank", "critic") == "critic" else None
        self.beta = float(options.get("beta", 0.0)) if self.critic is not None else 0.0
        # a causal critic may also steer the particles as they grow (models/twisted.py), in every window
        self.resample_every = 0
        self.top_p = float(options.get("top_p", 1.0))  # nucleus sampling, for every window of a piece alike
        self.pitch_temperature = options.get("pitch_temperature", 1.0)  # likewise (one, or one per style)
        self.candidates = 1
        try:
            if self.critic is not None:  # K: the file's, or the candidates asked for
                self.candidates = candidate_count(options.get("candidates", m.candidates))
            if self.critic is not None and self.beta > 0:
                self.resample_every = resample_steps(options.get("resample_every", 0))
                if self.resample_every:
                    m.twist(self.resample_every, self.beta)  # refuses a critic that judges whole windows only
            self.sequence.check_options({"top_p": self.top_p, "pitch_temperature": self.pitch_temperature})
            if not isinstance(self.pitch_temperature, float) and not self.sequence.conditional:
                raise ValueError("a pitch_temperature per style needs a style-conditional model")
        except ValueError as e:
            raise UserError(f"{self.sampler.family} model: {e}") from None
        seq = self.sequence
        self.n_voices, self.n_steps, self.vocab_size = seq.n_voices, seq.n_steps, seq.vocab_size
        # a reel's strains in forms chosen by a critic, where the model file carries them
        self.strains = strains_from_header(self.sampler.header.get("strains"), self.sampler.path.name)
        if self.strain_options and self.strains is None:
            raise UserError(f"{', '.join(self.strain_options)}: {self.sampler.path.name} carries no strain critic "
                            "(fit one: divertimento train --config configs/strains.json)")
        if self.strains is not None:
            self.strains = self.strains.with_options(self.strain_options or {})

    # ---- what the tools read ----

    @property
    def manifest(self) -> dict:
        return self.sampler.manifest

    @property
    def layout(self) -> Layout:
        return get_layout(self.manifest.get("layout", "satb"))

    @property
    def low(self) -> int:
        return self.sampler.low

    @property
    def style_names(self) -> list[str]:
        return self.sampler.style_names

    @property
    def bar(self) -> int:
        """Steps in a bar of the model's most common meter (index 0)."""
        return self.sampler.bar_steps(0)

    def bar_of(self, meter: int) -> int:
        return self.sampler.bar_steps(meter)

    def context_bars(self, meter: int) -> int:
        """Whole bars of context each later window starts from (``CONTEXT_QUARTERS``)."""
        return self.context_steps(self.bar_of(meter)) // self.bar_of(meter)

    def context_steps(self, bar: int) -> int:
        """``context_bars`` in steps, for a bar of ``bar`` steps (whole bars, at least one, leaving room for a new one
        where the window has it)."""
        quarters = CONTEXT_QUARTERS * int(self.manifest["steps_per_quarter"])
        return max(1, min(quarters // bar, self.n_steps // bar - 1)) * bar

    def window_plan(self, before: int, new_steps: int, bar: int) -> list[tuple[int, int]]:
        """(context steps, new steps) of each window ``extend_many`` draws to add ``new_steps`` after ``before``
        steps with bars of ``bar`` steps: whole bars after the context, so every window starts on a barline as the
        model's windows do. Empty from the first window a bar does not fit (``extend_many`` refuses that)."""
        T, context = self.n_steps, self.context_steps(bar)
        plan, have, done = [], before, 0
        while done < new_steps:
            c = min(context, have)
            n = min((T - c) // bar * bar, new_steps - done)
            if n <= 0:
                break
            plan.append((c, n))
            have, done = have + n, done + n
        return plan

    def home_meter(self, style: int) -> int:
        """The meter a style's pieces are in when none is asked for: the style's most common in the data."""
        shares = self.manifest.get("meter_shares")
        return int(np.argmax(shares[style])) if shares else 0

    def meter_index(self, meter: str, style: int | None = None) -> int:
        """The index of meter name ``meter``; one clear line for one the model (or the style) never saw."""
        check_meter(meter, None if style is None else self.style_names[style], self.manifest)
        return self.sampler.meter_names.index(meter)

    @property
    def temperature(self) -> float:
        return self.sampler.default_temperature

    def style_index(self, style: str) -> int:
        names = self.style_names
        if style not in names:
            raise UserError(f"unknown style {style!r}; this model knows {', '.join(names)}")
        return names.index(style)

    def harmony_styles(self) -> list[str]:
        """Styles whose training music has accompanying voices (at least two lower voices sound): those a melody
        can be harmonised in. None in a layout other than satb (harmonising fills in alto, tenor and bass)."""
        if self.layout.name != "satb":
            return []
        use = self.manifest.get("voice_use")
        if use is None:
            return list(self.style_names)
        return [s for s, row in zip(self.style_names, use) if sum(u >= MIN_VOICE_USE for u in row[1:]) >= 2]

    # ---- sampling ----

    def first_windows(self, pairs: list[Pair], style: str | None, temperature: float | None = None,
                      meter: str | None = None) -> tuple[np.ndarray, list[int], list[int], list[int]]:
        """The first windows of pieces ``pairs`` exactly as ``generate`` draws them, in one batch: (tokens
        [N, V, T], style indices, homes, meter indices; for a key-normalised model, generate moves the tokens to the
        home key, by octaves as far as the range allows). ``meter`` None: drawn by the style's meter shares."""
        check_meter(meter, style, self.manifest)
        draws = self.sampler.draws(pairs, style, meter=meter, options=self.options)
        # a key-normalised model's music stays on the white keys here (the model continues it there); its home is
        # the key every window of the piece is heard in (StudioPiece.home)
        tokens = self.sampler.tokens_from_draws(draws, temperature or self.temperature, self.strict, self.options,
                                                in_key=False)
        return tokens.astype(np.int64), [d.style for d in draws], [d.home for d in draws], [d.meter for d in draws]

    def window(self, style: int, given: np.ndarray, rng: torch.Generator, particles: int = 1,
               bias: torch.Tensor | None = None, temperature: float | None = None,
               no_crossing: bool = False, meter: int | None = None) -> np.ndarray:
        """Tokens [V, L] of one window whose ``given`` [V, L] tokens (FREE where the model draws) are kept;
        L <= n_steps; the window starts on a barline of meter index ``meter`` (None: the style's home meter).
        bias [V, L, K]: added to the logits (-inf forbids a token); no_crossing: no voice above the one above
        it."""
        return self.windows([style], given[None], rng, particles, bias, temperature, no_crossing,
                            None if meter is None else [meter])[0]

    def windows(self, styles: list[int], given: np.ndarray, rng: torch.Generator | list[torch.Generator],
                particles: int = 1, bias: torch.Tensor | None = None, temperature: float | None = None,
                no_crossing: bool = False, meters: list[int] | None = None) -> np.ndarray:
        """Tokens [B, V, L] of B windows drawn side by side, each keeping its ``given`` [B, V, L] tokens, each in
        its meter (None: each style's home meter). ``rng``: one generator for the batch, or one per row (a row then
        draws exactly what it draws alone); bias [V, L, K] for every row, or [B, V, L, K] one per row."""
        B, V, L = given.shape
        P = max(particles, self.candidates)
        rngs = rng if isinstance(rng, list) else [rng]
        n = B // len(rngs)  # rows drawn from each generator, in the order a single row draws them
        draws = [(gumbel_noise((n, P, V, L, self.vocab_size), r), torch.rand(n, L, generator=r),
                  gumbel_noise((n, P), r)) for r in rngs]
        noise, uniforms, final = (torch.cat(x) for x in zip(*draws))
        meters = [self.home_meter(st) for st in styles] if meters is None else meters
        s = self.sampler.conditions(styles, meters)
        twist = self.sampler.module.twist(self.resample_every, self.beta) if self.resample_every else None
        parts, logw = sample_given(self.sequence, s, noise, torch.as_tensor(given, dtype=torch.long), uniforms,
                                   temperature or self.temperature, self.strict, bias,
                                   holds_need_a_note=True, no_crossing=no_crossing, top_p=self.top_p,
                                   pitch_temperature=self.pitch_temperature, twist=twist)
        if twist is None and self.critic is not None and self.beta > 0 and L == self.n_steps:
            ps = None if s is None else s.repeat_interleave(P)
            logw = logw + self.beta * self.critic(parts.reshape(B * P, V, L), ps).view(B, P)
        tokens = parts[torch.arange(B), pick(logw, final)].numpy().astype(np.uint8)
        return silence_unused_voices(tokens, styles, self.manifest).astype(np.int64)

    def extend(self, before: np.ndarray | None, new_steps: int, style: int, rng: torch.Generator,
               given: np.ndarray | None = None, particles: int = 1, bias_for=None,
               temperature: float | None = None, no_crossing: bool = False, meter: int | None = None) -> np.ndarray:
        """``new_steps`` steps [V, new_steps] that follow ``before`` [V, n] (None: a fresh start; else whole bars
        of meter index ``meter``, None: the style's home meter), window by window, each starting on a barline
        from the last bars decided (``context_bars``). ``given`` [V, new_steps]: tokens to keep (FREE elsewhere);
        ``bias_for(given_window)`` -> bias [V, L, K] for a window, or None."""
        V = self.n_voices
        before = np.zeros((V, 0), dtype=np.int64) if before is None else np.asarray(before, dtype=np.int64)
        return self.extend_many(before[None], new_steps, [style], [rng], None if given is None else given[None],
                                particles, bias_for, temperature, no_crossing,
                                self.home_meter(style) if meter is None else meter)[0]

    def extend_many(self, before: np.ndarray, new_steps: int, styles: list[int], rngs: list[torch.Generator],
                    given: np.ndarray | None = None, particles: int = 1, bias_for=None,
                    temperature: float | None = None, no_crossing: bool = False, meter: int = 0,
                    bias_rows=None) -> np.ndarray:
        """``extend`` for B pieces side by side, each with its own generator, so each row is exactly what
        ``extend`` draws for it alone: before [B, V, n], given [B, V, new_steps] (FREE where the model draws), one
        meter; ``bias_for`` only for one row; ``bias_rows(rows, lo, hi)`` -> [len(rows), V, hi - lo, K]: those
        rows' logit bias for new steps lo..hi (a piece's key and cadence chords: studio/phrases.py)."""
        B, V, _ = before.shape
        T, bar = self.n_steps, self.bar_of(meter)
        if bias_for is not None and B > 1:
            raise ValueError("bias_for is for one piece at a time")
        buf = np.asarray(before, dtype=np.int64)
        start = buf.shape[2]
        if self.context_steps(bar) + bar > T:
            raise UserError(f"a bar of {bar} steps is too long for this model's windows of {T} steps")
        for c, n in self.window_plan(start, new_steps, bar):
            done = buf.shape[2] - start
            g = np.full((B, V, c + n), FREE, dtype=np.int64)
            g[:, :, :c] = buf[:, :, buf.shape[2] - c :]
            free_given = np.zeros(B, dtype=bool)
            if given is not None:
                g[:, :, c:] = given[:, :, done : done + n]
                free_given = (given[:, :, done : done + n] != FREE).any(axis=(1, 2))
            # rows that give tokens here are drawn with particles, the others plainly, each group in one batch: a
            # row draws what it would alone (e.g. a piece whose opening is silent gets no final cadence)
            tok = np.zeros((B, V, c + n), dtype=np.int64)
            for rows in (np.flatnonzero(free_given), np.flatnonzero(~free_given)):
                if len(rows):
                    bias = None if bias_for is None else bias_for(g[0])
                    if bias_rows is not None:  # nothing on the context, which is given
                        rows_bias = torch.zeros(len(rows), V, c + n, self.vocab_size)
                        rows_bias[:, :, c:] = torch.as_tensor(bias_rows(rows, done, done + n), dtype=torch.float32)
                        bias = rows_bias if bias is None else rows_bias + bias
                    tok[rows] = self.windows([styles[i] for i in rows], g[rows], [rngs[i] for i in rows],
                                             particles if free_given[rows[0]] else 1, bias, temperature,
                                             no_crossing, [meter] * len(rows))
            buf = np.concatenate([buf, tok[:, :, c:]], axis=2)
        return buf[:, :, start:]
