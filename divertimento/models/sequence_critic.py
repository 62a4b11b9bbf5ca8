"""A critic that reads a window the way the sequence model writes it: step by step, all voices of a step together.

The token GAN's convolutional discriminator, used as the guided sampler's first critic, told held-out real windows
from the `mle` model's samples barely better than chance (AUC 0.51-0.65 per style) and scored held-out real
folk-chinese windows *below* the model's samples (AUC 0.30): it had learnt the training pieces rather than what
the model gets wrong. This critic instead embeds each step's voices (the same layout as the sequence model's input
embedding, from which it can start), reads the steps with a bidirectional LSTM (so a chord sees the voice leading
into and out of it), and pools over time; dropout between layers keeps it from memorising pieces.
"""

import torch
from torch import nn

from .mode_fit import MODE_FIT_WIDTH, mode_fit
from .sequence import MODE_SCALE


class StepReader(nn.Module):
    """What the critics that read a window step by step share: each step's voices embedded together (voice v's
    token k is row v * K + k of one table, the sequence model's input layout, from which it can start), the step's
    position and the style. Its layers are the subclass's own attributes, so their weights keep their names."""

    def __init__(self, n_voices: int, vocab_size: int, n_steps: int, n_styles: int, embed: int, style_dim: int,
                 dropout: float, conditional: bool):
        super().__init__()
        self.n_voices, self.vocab_size, self.n_steps = n_voices, vocab_size, n_steps
        self.conditional = conditional and n_styles > 1
        self.in_embed = nn.Embedding(n_voices * vocab_size, embed)  # voice v's token k -> row v * K + k
        self.pos = nn.Embedding(n_steps, 16)
        self.style = nn.Embedding(n_styles, style_dim) if self.conditional else None
        self.mode, self.per_mode = None, n_styles  # ``add_modes``
        self.style_dim = style_dim if self.conditional else 0
        self.step_width = n_voices * embed + 16 + self.style_dim
        self.drop = nn.Dropout(dropout)

    def add_modes(self, n_modes: int, pitch_low: int = 0) -> None:
        """A critic of a run told each window's mode (``mode_condition``): a mode's vector joins its label's.

        Labels run (mode x styles + style) x meters + meter, so the label table alone could learn the modes apart,
        but it starts as the source critic's table once per mode, and at a critic's learning rate its rows drift
        apart too slowly to matter (round 14's first run: after 600 steps the critic scored real minor windows
        the same when told major or minor). The mode vector starts at zero, so the critic starts as its source,
        and is scaled up like the sequence model's (``MODE_SCALE``). ``pitch_low``: the MIDI pitch of the first
        pitch token, for a subclass that reads pitch classes."""
        if self.style is not None and n_modes > 1:
            self.mode, self.per_mode = nn.Embedding(n_modes, self.style_dim), self.style.num_embeddings // n_modes
            nn.init.zeros_(self.mode.weight)

    def condition_vectors(self, style: torch.Tensor | None) -> torch.Tensor | None:
        """[B, S] vectors of condition labels [B]; None for an unconditional critic."""
        if self.style is None:
            return None
        s = self.style(style)
        return s + MODE_SCALE * self.mode(style // self.per_mode) if self.mode is not None else s

    def table_rows(self, tokens: torch.Tensor) -> torch.Tensor:
        """[B, V, T] the row of a voice-by-token table (voice v's token k at row v * K + k) of int tokens."""
        return tokens.long() + (torch.arange(tokens.shape[1]) * self.vocab_size).view(1, -1, 1)

    def step_inputs(self, windows: torch.Tensor,
                    style: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(inputs [B, T, step_width], style vectors [B, S] or None) of ``windows``: one-hot [B, V, T, K] (soft
        one-hots pass gradients to a generator) or int tokens [B, V, T]. Tokens are looked up in the table, which
        gives exactly what a one-hot's product with it gives, without building the one-hot: a guided sampler
        judges thousands of windows per second."""
        if windows.dtype.is_floating_point:
            B, V, T, K = windows.shape
            table = self.in_embed.weight.view(V, K, -1)  # [V, K, E]
            e = torch.einsum("bvtk,vke->btve", windows, table).reshape(B, T, -1)  # [B, T, V*E]
        else:
            B, V, T = windows.shape
            e = self.in_embed(self.table_rows(windows)).permute(0, 2, 1, 3).reshape(B, T, -1)  # [B, T, V*E]
        parts = [e, self.pos.weight[:T].unsqueeze(0).expand(B, -1, -1)]
        s = self.condition_vectors(style)
        if s is not None:
            parts.append(s.unsqueeze(1).expand(-1, T, -1))
        return self.drop(torch.cat(parts, dim=2)), s


class SequenceCritic(StepReader):
    def __init__(
        self,
        n_voices: int,  # V
        vocab_size: int,  # K
        n_steps: int = 64,  # T
        n_styles: int = 1,
        embed: int = 32,  # per-voice token embedding E (the sequence model's ``embed``, to start from its table)
        hidden: int = 128,  # LSTM hidden size per direction
        style_dim: int = 16,
        dropout: float = 0.2,
        conditional: bool = True,
        extra_width: int = 0,  # features a subclass appends to each step's inputs (``step_inputs``)
    ):
        super().__init__(n_voices, vocab_size, n_steps, n_styles, embed, style_dim, dropout, conditional)
        self.lstm = nn.LSTM(self.step_width + extra_width, hidden, num_layers=1, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.Linear(4 * hidden + self.style_dim, hidden), nn.GELU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, 1))
        self.mode_projection = None  # ``add_modes``

    def add_modes(self, n_modes: int, pitch_low: int = 0) -> None:
        """Also a projection term (Miyato and Koyama, 2018): the mode's vector times a map of how well the window's
        notes fit the best major and the best minor key (``models/mode_fit.py``; pitch tokens start at MIDI
        ``pitch_low``). Whether a window is in the mode it was told is then one product, learnt as fast as the
        mode's vector moves. Round 14's second run left the interaction to the head's hidden layer, its third
        projected the critic's own pooled features: after 300-400 steps neither scored real minor windows told
        "minor" above real major ones (``models/mode_fit.py`` says why). The mode's vector starts at zero, so the
        term does too."""
        super().add_modes(n_modes)
        if self.mode is not None:
            self.pitch_low = pitch_low
            self.mode_projection = nn.Linear(MODE_FIT_WIDTH, self.style_dim, bias=False)

    def forward(self, windows: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [B] of one-hot windows [B, V, T, K] (soft one-hots pass gradients to a generator) or int token
        windows [B, V, T]."""
        x, s = self.step_inputs(windows, style)
        h, _ = self.lstm(x)  # [B, T, 2H]
        features = torch.cat([h.mean(dim=1), h.amax(dim=1)], dim=1)  # [B, 4H]
        logit = self.head(torch.cat([features] + ([s] if s is not None else []), dim=1)).squeeze(1)
        if self.mode_projection is not None:
            logit = logit + self.mode_term(windows, style).to(logit.dtype)
        return logit

    def mode_term(self, windows: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """The projection term alone [B]: the part of the logit that says whether a window is in the mode it was
        told (``add_modes``). A fine-tune can weigh it apart from the rest of the judgement (``adv_mode_weight``)."""
        mode = MODE_SCALE * self.mode(style // self.per_mode)  # [B, S]
        fit = mode_fit(windows, self.pitch_low).to(mode.dtype)
        return (mode * self.mode_projection(fit)).sum(dim=1)
