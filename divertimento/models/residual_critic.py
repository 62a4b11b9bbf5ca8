"""A critic that reads a window through the proposal's own eyes (a residual energy model, Deng et al. 2020).

The sequence critic learns music from scratch on a few thousand windows per style and stops at a held-out AUC of
0.51-0.74 per style: weaker than a gradient-boosted classifier on the suite's descriptors (0.81 on Bach), so its
density ratio is mostly noise. The proposal has already learnt the music from every training window; what it gets
wrong is where its expectations and real music part. This critic therefore reads, at every step, the proposal's
frozen LSTM state (what it expected before the step), the surprisal of each voice's actual token under it and the
entropy it spread over that voice (a model sample's surprisal averages its entropy; real music's need not), and the
step's tokens; a small bidirectional LSTM over those features, pooled over time, gives the logit. Only that head
learns, so the critic estimates the residual log p_data / p_model on top of a strong model, which is what Deng et
al.'s residual energy-based models do with a pretrained language model.
"""

import torch
from torch import nn


class ResidualCritic(nn.Module):
    def __init__(
        self,
        base: nn.Module,  # the proposal (an ARModel), frozen; kept outside this module's parameters and state
        n_styles: int = 1,
        embed: int = 32,  # per-voice token embedding (the proposal's ``embed``, to start from its table)
        hidden: int = 128,  # LSTM hidden size per direction
        style_dim: int = 16,
        dropout: float = 0.2,
        conditional: bool = True,
    ):
        super().__init__()
        self._base = (base,)  # a tuple hides it from nn.Module: not trained, not saved twice, not moved by .train()
        self.n_voices, self.vocab_size, self.n_steps = base.n_voices, base.vocab_size, base.n_steps
        self.conditional = conditional and n_styles > 1
        V = self.n_voices
        self.in_embed = nn.Embedding(V * self.vocab_size, embed)
        self.style = nn.Embedding(n_styles, style_dim) if self.conditional else None
        sdim = style_dim if self.conditional else 0
        features = base.lstm.hidden_size + 2 * V + V * embed  # proposal state, surprisal and entropy per voice, tokens
        self.project = nn.Sequential(nn.Linear(features, hidden), nn.GELU())
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(hidden + sdim, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.Linear(4 * hidden + sdim, hidden), nn.GELU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, 1))

    @property
    def base(self) -> nn.Module:
        return self._base[0]

    @torch.no_grad()
    def proposal_features(self, tokens: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        """[B, T, H + 2V]: the proposal's state before each step, and each voice's surprisal and entropy there."""
        base = self.base
        was_training = base.training
        base.eval()
        cond = style if base.conditional else None
        h = base.hidden(tokens, cond)  # [B, T, H]
        logp = torch.log_softmax(base.logits_after(tokens, h), dim=-1)  # [B, V, T, K], the LSTM run once
        surprisal = -logp.gather(-1, tokens.long().unsqueeze(-1)).squeeze(-1)  # [B, V, T]
        entropy = -(logp.exp() * logp).sum(dim=-1)  # [B, V, T]
        base.train(was_training)
        return torch.cat([h, surprisal.transpose(1, 2), entropy.transpose(1, 2)], dim=2)

    def forward(self, onehot: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [B] of one-hot windows [B, V, T, K] (hard one-hots: the proposal reads their tokens)."""
        B, V, T, K = onehot.shape
        tokens = onehot.argmax(dim=-1)  # [B, V, T]
        table = self.in_embed.weight.view(V, K, -1)
        e = torch.einsum("bvtk,vke->btve", onehot, table).reshape(B, T, -1)  # [B, T, V*E]
        x = self.project(torch.cat([self.proposal_features(tokens, style), e], dim=2))
        s = self.style(style) if self.style is not None else None
        if s is not None:
            x = torch.cat([x, s.unsqueeze(1).expand(-1, T, -1)], dim=2)
        h, _ = self.lstm(self.drop(x))  # [B, T, 2H]
        pooled = [h.mean(dim=1), h.amax(dim=1)] + ([s] if s is not None else [])
        return self.head(torch.cat(pooled, dim=1)).squeeze(1)
