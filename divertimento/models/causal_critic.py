"""A critic that judges every prefix of a window, step by step, as the sequence model writes it.

The bidirectional sequence critic gives one logit per window, so the adversarial fine-tune could only reward or
blame a whole window of 64 steps and 256 tokens for a wrong chord in one of them (REINFORCE with one reward per
window). This critic reads the steps left to right with a unidirectional LSTM and gives a logit after every step:
ell_t, its estimate of log p_data(x_<=t) / p_model(x_<=t). Trained on every prefix (ScratchGAN's per-step
discriminator, d'Autume et al. 2019), the change ell_t - ell_(t-1) says how much step t made the window more or
less like real music, which the fine-tune uses as a dense reward (losses/policy_gradient.py). Its last logit
judges the whole window, so it also serves wherever a window critic does (guided sampling, critic_scores).
"""

import torch
from torch import nn

from .sequence_critic import StepReader


class CausalCritic(StepReader):
    def __init__(
        self,
        n_voices: int,  # V
        vocab_size: int,  # K
        n_steps: int = 64,  # T
        n_styles: int = 1,
        embed: int = 32,  # per-voice token embedding E
        hidden: int = 192,  # LSTM hidden size (one direction: a prefix must not see what follows it)
        style_dim: int = 16,
        dropout: float = 0.2,
        conditional: bool = True,
        extra_width: int = 0,  # features a subclass appends to each step's inputs (``step_inputs``)
    ):
        super().__init__(n_voices, vocab_size, n_steps, n_styles, embed, style_dim, dropout, conditional)
        self.lstm = nn.LSTM(self.step_width + extra_width, hidden, num_layers=1, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden + self.style_dim, hidden), nn.GELU(), nn.Linear(hidden, 1))

    def prefix_logits(self, windows: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [B, T] of one-hot windows [B, V, T, K] or int token windows [B, V, T]: entry t judges steps 0..t
        and nothing after them."""
        return self.continued_logits(windows, style, 0, None)[0]

    def continued_logits(self, windows: torch.Tensor, style: torch.Tensor | None, start: int,
                         state: tuple | None) -> tuple[torch.Tensor, tuple]:
        """(logits [B, T - start] of the prefixes ending at steps start..T-1, the LSTM's state after step T-1) of
        windows [B, V, T] whose steps before ``start`` were read already, leaving ``state`` (None when start is 0).
        A sampler judges its prefixes as they grow this way, each step read once."""
        x, s = self.step_inputs(windows, style)  # step t's inputs depend on steps 0..t alone
        h, state = self.lstm(x[:, start:], state)  # [B, T - start, H]
        if s is not None:
            h = torch.cat([h, s.unsqueeze(1).expand(-1, h.shape[1], -1)], dim=2)
        return self.head(h).squeeze(2), state

    def forward(self, windows: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [B] of whole windows: the last prefix's."""
        return self.prefix_logits(windows, style)[:, -1]
