"""The sequence model (family ``mle``): an LSTM over the window's steps, voice by voice within a step.

    p(x | s) = prod_t prod_v p(x_{t,v} | x_{<t}, x_{t,<v}, s)

x_{t,v} is voice v's token (REST, HOLD or a pitch) at step t and s the condition: the style, and for a model of
data with several meters the meter (label style * meters + meter, ``data/conditions.py``). The LSTM reads the
previous step's four tokens (plus the step's position in the window, its position in the bar of its meter, and the
style) and gives h_t; voice v's distribution at step t reads h_t plus embeddings of
the voices above it already chosen at step t (soprano first, bass last), so the joint over a step's voices is
modelled exactly rather than as independent voices. Trained by teacher forcing on the exact negative
log-likelihood (nats per window); sampled token by token with a temperature and per-piece Gumbel noise.

With ``sounding_context`` a voice's head also reads what every voice sounds, not only its tokens: a held note's
token is HOLD, so without it the head knows the pitch a voice holds only as far as the LSTM remembers it, and the
harmony between a moving voice and a held one is the hardest thing to model. The head adds an embedding of the pitch
each voice above it sounds at this step and one of the pitch every voice sounded at the step before. Both are
functions of the tokens, so the factorisation above is unchanged; both tables start at zero, so a trained model
given them computes what it computed before.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..music.roll import FIRST_PITCH_TOKEN, HOLD, REST
from .low_precision import LowPrecision, use_bfloat16
from .voice_leading import crossing_mask, parallel_mask

METRIC_DIM = 16  # size of the position-in-bar embedding of a metered model
SOUNDING_TABLES = ("sound_now.weight", "sound_before.weight")  # the parameters ``sounding_context`` adds
MODE_TABLE = "mode.weight"  # the parameter ``n_modes`` > 1 adds
# the mode table's output is scaled up: Adam moves every entry by about the learning rate per step, so a table that
# starts at zero beside style vectors of size ~1 would stay negligible through a fine-tune (round 13's first run:
# after 1,500 steps at 2e-4 the model told "minor" wrote minor no more often than one told "major")
MODE_SCALE = 32.0


class ARModel(nn.Module):
    def __init__(
        self,
        n_voices: int,  # V
        vocab_size: int,  # K
        n_steps: int = 64,  # T
        n_styles: int = 1,  # style labels; conditional when there are several and conditional=True
        bar_steps: tuple[int, ...] = (),  # steps per bar of each meter the model knows; () or one: no meter input
        style_dim: int = 32,  # style embedding size, appended to every LSTM input
        hidden: int = 256,  # LSTM hidden size H
        layers: int = 2,  # LSTM layers
        embed: int = 32,  # per-voice token embedding size E at the LSTM input
        dropout: float = 0.0,  # between LSTM layers, training only
        conditional: bool = True,
        sounding_context: bool = False,  # heads read what each voice sounds (see the module's docstring)
        n_modes: int = 1,  # modes in the condition label (2 with ``mode_condition``: data/modes.py)
    ):
        super().__init__()
        self.n_voices, self.vocab_size, self.n_steps, self.n_styles = n_voices, vocab_size, n_steps, n_styles
        self.n_meters = max(1, len(bar_steps))
        self.conditional = conditional and (n_styles > 1 or self.n_meters > 1)
        sdim = style_dim if self.conditional and n_styles > 1 else 0
        self.style = nn.Embedding(n_styles, style_dim) if sdim else None
        # a mode's vector is added to the style's; it starts at zero, so a model grown from one without modes starts
        # where that model stood (label = (mode * styles + style) * meters + meter)
        self.n_modes = n_modes
        self.mode = nn.Embedding(n_modes, style_dim) if sdim and n_modes > 1 else None
        if self.mode is not None:
            nn.init.zeros_(self.mode.weight)
        # where a step falls in the bar of its window's meter (windows start on a barline): the metric accents
        self.metered = self.conditional and self.n_meters > 1
        self.max_bar = max(bar_steps, default=1)
        self.metric = nn.Embedding(self.n_meters * self.max_bar, METRIC_DIM) if self.metered else None
        self.register_buffer("bar_steps", torch.tensor(bar_steps or (1,), dtype=torch.long), persistent=False)
        self.in_embed = nn.Embedding(n_voices * vocab_size, embed)  # voice v's token k -> row v * K + k
        self.start = nn.Parameter(torch.zeros(n_voices * embed))  # what step 0 reads as "previous step"
        self.pos = nn.Embedding(n_steps, 16)  # position in the window (bar and beat structure)
        mdim = METRIC_DIM if self.metered else 0
        self.lstm = nn.LSTM(n_voices * embed + 16 + sdim + mdim, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.voice_embed = nn.Embedding(n_voices * vocab_size, hidden)  # a chosen voice's token, in LSTM space
        self.head_hidden = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(n_voices))
        self.head_out = nn.ModuleList(nn.Linear(hidden, vocab_size) for _ in range(n_voices))
        self.act = nn.GELU()
        self.sounding_context = sounding_context
        if sounding_context:  # rows v * K + (a pitch token, or REST for silence), in LSTM space, zero at the start
            self.sound_now = nn.Embedding(n_voices * vocab_size, hidden)  # a voice above, at this step
            self.sound_before = nn.Embedding(n_voices * vocab_size, hidden)  # every voice, at the previous step
            nn.init.zeros_(self.sound_now.weight)
            nn.init.zeros_(self.sound_before.weight)

    def _offsets(self) -> torch.Tensor:
        return torch.arange(self.n_voices) * self.vocab_size  # [V]

    def _inputs(self, step_embed: torch.Tensor, t0: int, cond: torch.Tensor | None) -> torch.Tensor:
        """LSTM input [B, L, V*E + 16 (+S) (+M)] from previous-step embeddings [B, L, V*E] at positions
        t0..t0+L-1 of windows of condition labels ``cond`` [B]."""
        B, L, _ = step_embed.shape
        return torch.cat([step_embed, self._positions(B, t0, L, cond)], dim=2)

    def _positions(self, B: int, t0: int, L: int, cond: torch.Tensor | None) -> torch.Tensor:
        """The LSTM input's parts [B, L, 16 (+S) (+M)] that do not depend on the tokens: the position in the window,
        the style, and the position in the bar of the meter."""
        parts = [self.pos.weight[t0 : t0 + L].unsqueeze(0).expand(B, -1, -1)]
        if self.style is not None:
            label = cond // self.n_meters  # mode * styles + style
            vector = self.style(label % self.n_styles)
            if self.mode is not None:
                vector = vector + MODE_SCALE * self.mode(label // self.n_styles)
            parts.append(vector.unsqueeze(1).expand(-1, L, -1))
        if self.metric is not None:
            meter = cond % self.n_meters  # [B]
            t = torch.arange(t0, t0 + L).view(1, L)
            parts.append(self.metric(meter.view(B, 1) * self.max_bar + t % self.bar_steps[meter].view(B, 1)))
        return torch.cat(parts, dim=2)

    def _head(self, v: int, ctx: torch.Tensor) -> torch.Tensor:
        return self.head_out[v](self.act(self.head_hidden[v](ctx)))

    def hidden(self, tokens: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced LSTM outputs [B, T, H]: h_t summarises x_{<t} (what the model knows before step t)."""
        B, V, T = tokens.shape
        idx = tokens.long() + self._offsets().view(1, V, 1)  # [B, V, T]
        e = self.in_embed(idx).permute(0, 2, 1, 3).reshape(B, T, -1)  # [B, T, V*E]
        prev = torch.cat([self.start.view(1, 1, -1).expand(B, 1, -1), e[:, :-1]], dim=1)  # step t reads step t-1
        h, _ = self.lstm(self._inputs(prev, 0, style))  # [B, T, H]
        return h

    def forward(self, tokens: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced logits [B, V, T, K]: position (v, t) sees only x_{<t} and x_{t,<v}."""
        return self.logits_after(tokens, self.hidden(tokens, style))

    def logits_after(self, tokens: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The logits [B, V, T, K] of ``forward`` from its LSTM outputs ``h`` = ``hidden(tokens, style)``."""
        V = tokens.shape[1]
        idx = tokens.long() + self._offsets().view(1, V, 1)  # [B, V, T]
        ve = self.voice_embed(idx).permute(0, 2, 1, 3)  # [B, T, V, H]
        ctx = h.unsqueeze(2) + (ve.cumsum(dim=2) - ve)  # exclusive sum over the voices above: [B, T, V, H]
        if self.sounding_context:
            ctx = ctx + self.sounding_terms(tokens)
        logits = torch.stack([self._head(v, ctx[:, :, v]) for v in range(V)], dim=1)  # [B, V, T, K]
        return logits

    def sounding_terms(self, tokens: torch.Tensor) -> torch.Tensor:
        """What ``sounding_context`` adds to voice v's head at step t [B, T, V, H]: the pitch every voice sounded at
        step t-1 and the pitch each voice above v sounds at step t, read from the window's tokens [B, V, T]."""
        V = tokens.shape[1]
        sounding = sounding_tokens(tokens.long())  # [B, V, T]
        now = self.sound_now(sounding + self._offsets().view(1, V, 1)).permute(0, 2, 1, 3)  # [B, T, V, H]
        before = torch.cat([torch.full_like(sounding[:, :, :1], REST), sounding[:, :, :-1]], dim=2)
        before = self.sound_before(before + self._offsets().view(1, V, 1)).sum(dim=1)  # [B, T, H]
        return before.unsqueeze(2) + (now.cumsum(dim=2) - now)

    def log_probs(self, tokens: torch.Tensor, style: torch.Tensor | None = None,
                  pitch_temperature: float | tuple[float, ...] = 1.0) -> torch.Tensor:
        """log p(x_{t,v} | past) of every token [B, V, T]; with a ``pitch_temperature`` (one, or one per style, as
        ``sample`` takes it) the log-probability the sampler drawing at it gives the token (``pitch_sharpened``)."""
        logp = torch.log_softmax(self.sampling_logits(tokens, style, pitch_temperature), dim=-1)
        return logp.gather(-1, tokens.long().unsqueeze(-1)).squeeze(-1)

    def sampling_logits(self, tokens: torch.Tensor, style: torch.Tensor | None = None,
                        pitch_temperature: float | tuple[float, ...] = 1.0) -> torch.Tensor:
        """Teacher-forced logits [B, V, T, K] (float32) of the sampler at ``pitch_temperature`` (as ``sample`` takes
        it), at temperature 1: ``sample`` with noise g draws argmax(these + g) at every position."""
        logits = self(tokens, style).float()  # float32 sums under bfloat16 autocast too
        pitch_temperature = self.row_values(pitch_temperature, style)
        if not isinstance(pitch_temperature, float) or pitch_temperature != 1.0:
            logits = pitch_sharpened(logits, pitch_temperature)
        return logits

    latent_dim = 0  # no latent: a sample is its noise alone
    supports_strict_voice_leading = True  # a voice is drawn knowing the voices above it at the same step
    supports_low_precision = True  # sample(low_precision=True): bfloat16 products (LowPrecision)
    # nucleus sampling (``outside_nucleus``; 1 = the whole distribution); a temperature among the pitches alone
    # (``pitch_sharpened``; 1 = none)
    sampling_options = ("top_p", "pitch_temperature")
    # options a sampler may give style by style (``sample.per_style``), and their value for a style given none
    per_style_options = {"pitch_temperature": 1.0}

    @staticmethod
    def check_options(options: dict) -> None:
        """ValueError for a sampling option out of range (what ``sample`` would refuse), e.g. before a model file
        recommends it."""
        check_top_p(float(options.get("top_p", 1.0)))
        check_pitch_temperature(options.get("pitch_temperature", 1.0))

    @property
    def noise_shape(self) -> tuple[int, int, int]:
        """The Gumbel noise a piece draws: one value per voice, step and token."""
        return (self.n_voices, self.n_steps, self.vocab_size)

    def begin(self, batch: int, length: int, low_precision: bool = False) -> "Decoding":
        """The state of ancestral sampling before step 0, for ``batch`` rows of ``length`` steps (<= n_steps).
        ``low_precision``: every step multiplies in bfloat16 (``LowPrecision``) where this CPU does so natively
        (``use_bfloat16``); float32 elsewhere."""
        silent = torch.full((batch, self.n_voices), -1, dtype=torch.long)
        return Decoding(self.start.view(1, 1, -1).expand(batch, 1, -1), None, silent, silent.clone(),
                        torch.zeros(batch, self.n_voices, length, dtype=torch.long),
                        low=LowPrecision.of(self) if use_bfloat16(low_precision) else None)

    @torch.no_grad()
    def step(self, dec: "Decoding", t: int, style: torch.Tensor | None, noise: torch.Tensor, temperature: float,
             strict_voice_leading: bool = False, given: torch.Tensor | None = None,
             bias: torch.Tensor | None = None, holds_need_a_note: bool = False,
             no_crossing: bool = False, top_p: float = 1.0,
             pitch_temperature: float | torch.Tensor = 1.0) -> torch.Tensor:
        """Draw step t of every row into ``dec.out`` and advance ``dec``; voice by voice, soprano first.

        noise [B, V, K]: standard Gumbel; given [B, V] (or None): a token a voice must take at this step, -1 where
        the model draws; bias [B, V, K] (or None): added to the logits before the temperature (-inf forbids);
        ``holds_need_a_note``: a silent voice may not draw HOLD (which would hold nothing: silence by another name,
        a way around a bias that forbids REST); ``no_crossing``: a voice may not sound above the voice above it at
        this step (a new note or a held one), unisons allowed (the suite's voice-crossing rule); ``top_p``: draw from
        the nucleus of what is left after the temperature and the masks (``outside_nucleus``; 1 = all of it);
        ``pitch_temperature``: a temperature among the pitches alone (``pitch_sharpened``), one for every row or
        [B] one per row (``row_values``).
        Returns log q(given) [B]: the log-probability the sampling distribution (temperature, bias, voice-leading
        mask and nucleus included) gave the forced tokens at this step, each clamped at LOG_FLOOR; 0 where nothing
        is forced. A sequential Monte Carlo sampler weighs its particles by it (``models/smc.py``)."""
        B, V = noise.shape[0], self.n_voices
        offsets = self._offsets()
        if dec.positions is None:  # what every step reads beside the tokens, for the whole decoding at once
            dec.positions = self._positions(B, 0, dec.out.shape[2], style)
        ctx = self._lstm_step(torch.cat([dec.prev[:, 0], dec.positions[:, t]], dim=1), dec)  # [B, H]
        if self.sounding_context:
            ctx = ctx + F.embedding(silent_as_rest(dec.sounding) + offsets, self.sound_before.weight).sum(dim=1)
        sounding_now = dec.sounding.clone()  # filled voice by voice with what sounds at this step
        logq = torch.zeros(B)
        for v in range(V):
            # the head and the embedding by their functions: a step's many small calls skip the modules' dispatch
            if dec.low is None:
                h, o = self.head_hidden[v], self.head_out[v]
                logits = F.linear(F.gelu(F.linear(ctx, h.weight, h.bias)), o.weight, o.bias)
            else:
                logits = dec.low.head(v, ctx)
            if bias is not None:
                logits = logits + bias[:, v]
            if holds_need_a_note:
                logits[:, HOLD] = logits[:, HOLD].masked_fill(dec.sounding[:, v] < 0, -torch.inf)
            if no_crossing and v > 0:
                logits = logits.masked_fill(crossing_mask(sounding_now[:, v - 1], dec.sounding[:, v],
                                                          self.vocab_size), -torch.inf)
            if temperature != 1.0:
                logits = logits / temperature
            if strict_voice_leading and v > 0:
                logits = logits.masked_fill(parallel_mask(dec.before, sounding_now, v, self.vocab_size), -torch.inf)
            if not isinstance(pitch_temperature, float) or pitch_temperature != 1.0:
                logits = pitch_sharpened(logits, pitch_temperature)
            if top_p < 1.0:
                logits = logits.masked_fill(outside_nucleus(logits, top_p), -torch.inf)
            tok = (logits + noise[:, v]).argmax(dim=-1)  # [B]
            if given is not None:
                forced = given[:, v] >= 0
                if forced.any():
                    logp = torch.log_softmax(logits, dim=-1).gather(1, given[:, v].clamp_min(0)[:, None])[:, 0]
                    logq = logq + torch.where(forced, logp.nan_to_num(LOG_FLOOR).clamp_min(LOG_FLOOR), 0.0)
                    tok = torch.where(forced, given[:, v], tok)
            dec.out[:, v, t] = tok
            ctx = ctx + F.embedding(tok + offsets[v], self.voice_embed.weight)
            sounding_now[:, v] = torch.where(tok >= FIRST_PITCH_TOKEN, tok,
                                             torch.where(tok == HOLD, dec.sounding[:, v], -1))
            if self.sounding_context:
                ctx = ctx + F.embedding(silent_as_rest(sounding_now[:, v]) + offsets[v], self.sound_now.weight)
        onset = (dec.out[:, :, t] >= FIRST_PITCH_TOKEN).any(dim=1, keepdim=True)  # what after_slice gives, reused
        dec.sounding, dec.before = sounding_now, torch.where(onset, sounding_now, dec.before)
        dec.prev = self.in_embed(dec.out[:, :, t] + offsets.view(1, V)).reshape(B, 1, -1)
        return logq

    def _lstm_step(self, x: torch.Tensor, dec: "Decoding") -> torch.Tensor:
        """The LSTM's output [B, H] for one step's input x [B, D], advancing ``dec.state``: layer by layer with
        ``lstm_cell``, which does what ``self.lstm`` does for a sequence of one step at a fraction of its per-call
        cost (a step is drawn thousands of times per piece); in low precision, ``LowPrecision.step``."""
        L, H = self.lstm.num_layers, self.lstm.hidden_size
        if dec.state is None:
            zeros = x.new_zeros(L, x.shape[0], H)
            dec.state = (zeros, zeros)
        if dec.low is not None:
            x, dec.state = dec.low.step(x, dec.state)
            return x
        hs, cs = [], []
        for k in range(L):
            h, c = torch._VF.lstm_cell(x, (dec.state[0][k], dec.state[1][k]), *self.lstm.all_weights[k])
            hs.append(h)
            cs.append(c)
            x = h
        dec.state = (torch.stack(hs), torch.stack(cs))
        return x

    @torch.no_grad()
    def prefill(self, dec: "Decoding", tokens: torch.Tensor, style: torch.Tensor | None) -> None:
        """Advance ``dec`` (just begun) past steps 0..c-1 whose tokens [B, V, c] are given to every row, in one
        LSTM call rather than c calls of ``step``: the state, the tokens and what sounds are exactly what ``step``
        leaves after forcing them (up to float rounding). The forced tokens' probabilities are not computed: they
        are the same for every particle of a row, so they do not change its weights."""
        B, V, c = tokens.shape
        if c == 0:
            return
        e = self.in_embed(tokens + self._offsets().view(1, V, 1)).permute(0, 2, 1, 3).reshape(B, c, -1)
        prev = torch.cat([dec.prev.expand(B, 1, -1), e[:, :-1]], dim=1)
        _, dec.state = self.lstm(self._inputs(prev, 0, style), dec.state)
        dec.prev = e[:, -1:]
        dec.out[:, :, :c] = tokens
        for t in range(c):
            dec.sounding, dec.before = after_slice(dec.sounding, dec.before, tokens[:, :, t])

    @torch.no_grad()
    def sample(self, style: torch.Tensor | None, noise: torch.Tensor, temperature: float = 1.0,
               z: torch.Tensor | None = None, strict_voice_leading: bool = False,
               low_precision: bool = False, top_p: float = 1.0,
               pitch_temperature: float | tuple[float, ...] = 1.0) -> torch.Tensor:
        """Token windows [B, V, T] (int64) by ancestral sampling: x = argmax(logits / temperature + noise), with
        noise [B, V, T, K] standard Gumbel (Gumbel-max = a categorical draw); zero noise gives greedy decoding.
        ``strict_voice_leading``: a voice never takes a note that makes parallel fifths or octaves with a voice above
        it (``parallel_mask``); the draw is then from the model's distribution with those notes removed. ``z`` is
        unused (the model has no latent); it is accepted so every family samples through one call.
        ``low_precision``: multiply in bfloat16 (``LowPrecision``); ``top_p``: draw each token from the nucleus
        (``outside_nucleus``), 1 = the whole distribution; ``pitch_temperature``: a further temperature among the
        pitch tokens alone (``pitch_sharpened``), 1 = none; one for every style, or one per style in the model's
        style order."""
        self.check_options({"top_p": top_p, "pitch_temperature": pitch_temperature})
        pitch_temperature = self.row_values(pitch_temperature, style)
        dec = self.begin(noise.shape[0], self.n_steps, low_precision)
        for t in range(self.n_steps):
            self.step(dec, t, style, noise[:, :, t], temperature, strict_voice_leading, top_p=float(top_p),
                      pitch_temperature=pitch_temperature)
        return dec.out

    def row_values(self, value: float | tuple[float, ...], style: torch.Tensor | None) -> float | torch.Tensor:
        """A sampling option given once (a float) or per style (one value per style): the float, or [B] the
        value of each row's style (``style``: condition labels, style * meters + meter)."""
        if isinstance(value, (int, float)):
            return float(value)
        if style is None or len(value) != self.n_styles:
            raise ValueError(f"a value per style needs a style-conditional model and one value for each of its "
                             f"{self.n_styles} styles (got {len(value)})")
        rows = torch.tensor(value, dtype=torch.float64)[(style // self.n_meters) % self.n_styles]
        # rows of one value (a batch of one style, as a studio piece is): that number, as if given for every style
        return float(rows[0]) if len(rows) and bool((rows == rows[0]).all()) else rows.float()


def outside_nucleus(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """[B, K] True for the tokens outside each row's nucleus (Holtzman et al. 2020): the fewest most probable
    tokens whose probabilities sum to at least ``top_p`` stay; the most probable token always stays."""
    probs, order = torch.softmax(logits.float(), dim=-1).sort(dim=-1, descending=True)
    before = probs.cumsum(dim=-1) - probs  # the mass of the tokens more probable than this one
    return torch.zeros_like(before, dtype=torch.bool).scatter(-1, order, before >= top_p)


def pitch_sharpened(logits: torch.Tensor, temperature: float | torch.Tensor) -> torch.Tensor:
    """Logits [B, ..., K] whose pitch tokens are divided by ``temperature`` and shifted so that their total
    probability (that of starting a new note) is unchanged: which note is drawn follows a sharper (< 1) or flatter
    distribution, whether a note starts, holds or rests does not. A plain temperature below 1 also makes HOLD likelier
    at most steps and freezes the texture (round 8's nucleus did the same). ``temperature``: one for all rows, or
    [B]. Out of place, so a fine-tune's policy gradient can run through it (``log_probs``); few operations, since a
    sampler runs it for every voice at every step of a piece."""
    if isinstance(temperature, torch.Tensor):
        temperature = temperature.view(-1, *[1] * (logits.dim() - 1))
    logits = logits.float()
    pitch = logits[..., FIRST_PITCH_TOKEN:]
    sharpened = pitch / temperature
    total, new_total = torch.logsumexp(torch.stack([pitch, sharpened]), dim=-1, keepdim=True)
    shift = (total - new_total).nan_to_num(0.0)  # every pitch masked (-inf - -inf): no shift
    return torch.cat([logits[..., :FIRST_PITCH_TOKEN], sharpened + shift], dim=-1)


def check_pitch_temperature(temperature) -> None:
    """A number, or one per style, each in 0.05..10."""
    values = [temperature] if isinstance(temperature, (int, float)) else list(temperature)
    for v in values:
        if not isinstance(v, (int, float)) or not 0.05 <= v <= 10:
            raise ValueError(f"pitch_temperature must lie in 0.05..10 (got {v})")


def check_top_p(top_p: float) -> None:
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must lie in (0, 1] (got {top_p})")


def sounding_tokens(tokens: torch.Tensor) -> torch.Tensor:
    """[B, V, T] the pitch token each voice sounds at each step (a new note, or the note its HOLD holds), REST where
    it sounds nothing (a rest, a HOLD after a rest, a HOLD with no note before it in the window): what ``step``
    tracks in ``Decoding.sounding`` (with REST for -1), for whole windows at once."""
    t = torch.arange(tokens.shape[-1]).expand_as(tokens)
    last = torch.where(tokens != HOLD, t, -1).cummax(dim=-1).values  # the last step at or before t that is not HOLD
    source = tokens.gather(-1, last.clamp_min(0))
    return torch.where((last >= 0) & (source >= FIRST_PITCH_TOKEN), source, REST)


def silent_as_rest(sounding: torch.Tensor) -> torch.Tensor:
    """``Decoding.sounding`` (-1 for silence) as the row of the sounding tables (REST for silence)."""
    return torch.where(sounding >= 0, sounding, REST)


def after_slice(sounding: torch.Tensor, before: torch.Tensor,
                tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(sounding, before) [B, V] after a step whose tokens are ``tokens`` [B, V]: what each voice sounds (a new pitch,
    the note it holds, or -1), and the slice of the last step where some voice started a note (``Decoding``)."""
    now = torch.where(tokens >= FIRST_PITCH_TOKEN, tokens, torch.where(tokens == HOLD, sounding, -1))
    onset = (tokens >= FIRST_PITCH_TOKEN).any(dim=1, keepdim=True)
    return now, torch.where(onset, now, before)


LOG_FLOOR = -30.0  # a forced token the sampling distribution rules out still leaves its particle a tiny weight


@dataclass
class Decoding:
    """Running state of ancestral sampling, one row per sample (``ARModel.begin`` / ``step``)."""

    prev: torch.Tensor  # [B, 1, V*E] the previous step's token embeddings (what the LSTM reads next)
    state: tuple | None  # the LSTM's (h, c)
    sounding: torch.Tensor  # [B, V] pitch token each voice sounds (-1: silent)
    before: torch.Tensor  # [B, V] ... at the last step where some voice started a note (the previous slice)
    out: torch.Tensor  # [B, V, L] tokens drawn so far
    positions: torch.Tensor | None = None  # [B, L, D] the LSTM input's parts other than the tokens (ARModel.step)
    low: "LowPrecision | None" = None  # bfloat16 weights when the decoding multiplies in low precision

    def select(self, rows: torch.Tensor) -> None:
        """Keep rows ``rows`` [B] (indices, repeats allowed): what resampling particles does."""
        self.prev, self.sounding, self.before, self.out = (x[rows] for x in (self.prev, self.sounding, self.before,
                                                                              self.out))
        if self.positions is not None:
            self.positions = self.positions[rows]
        if self.state is not None:
            self.state = tuple(x[:, rows] for x in self.state)

