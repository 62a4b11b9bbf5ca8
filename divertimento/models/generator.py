"""Style-conditional generator: noise z + style -> per-voice, per-step logits over REST/HOLD/pitches."""

import torch
from torch import nn

from .blocks import UpBlock


class Generator(nn.Module):
    def __init__(
        self,
        n_voices: int,  # V, tracks of the layout (4 for satb)
        vocab_size: int,  # K tokens per voice and step: REST, HOLD, then one per pitch of the data's range
        n_steps: int = 64,  # T, window length in grid steps; a multiple of 16
        z_dim: int = 128,  # latent size
        n_styles: int = 1,  # number of style labels; 0 or 1 with conditional=False means unconditional
        style_dim: int = 32,  # size of the learned style embedding
        channels: int = 256,  # width at the coarsest (per-bar) resolution; halves gently toward the 16th grid
        conditional: bool = True,  # False: ignore style labels entirely
    ):
        super().__init__()
        self.n_voices, self.vocab_size, self.n_steps, self.z_dim = n_voices, vocab_size, n_steps, z_dim
        self.conditional = conditional and n_styles > 1
        sdim = style_dim if self.conditional else 0
        self.style = nn.Embedding(n_styles, style_dim) if self.conditional else None
        n_up = 4  # 4 doublings: one value per bar of 16 steps -> one per 16th
        self.base_len = n_steps // 2**n_up
        if self.base_len * 2**n_up != n_steps:
            raise ValueError(f"window of {n_steps} steps is not a multiple of {2**n_up}")
        # bar, half-bar, beat, 8th, 16th resolution; the finest stays at half width because it decides
        # 4 voices x ~60 tokens per step
        widths = [channels, channels, 3 * channels // 4, channels // 2, channels // 2]
        self.widths = widths
        self.fc = nn.Linear(z_dim + sdim, widths[0] * self.base_len)
        self.blocks = nn.ModuleList(UpBlock(widths[i], widths[i + 1], sdim) for i in range(n_up))
        self.head = nn.Conv1d(widths[-1], n_voices * vocab_size, kernel_size=1)
        self.act = nn.LeakyReLU(0.2)

    def embed_style(self, style: torch.Tensor | None) -> torch.Tensor | None:
        if not self.conditional:
            return None
        return self.style(style)

    def forward(self, z: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [B, V, T, K]."""
        s = self.embed_style(style)
        h = z if s is None else torch.cat([z, s], dim=1)
        h = self.act(self.fc(h)).reshape(len(z), self.widths[0], self.base_len)  # [B, C, bars]
        for block in self.blocks:
            h = block(h, s)
        logits = self.head(h)  # [B, V*K, T]
        return logits.reshape(len(z), self.n_voices, self.vocab_size, self.n_steps).transpose(2, 3)

    supports_strict_voice_leading = False  # every voice is drawn at once: no voice can see the voice above it
    sampling_options = ()  # no per-call knobs beyond temperature and voice leading

    @property
    def noise_shape(self) -> tuple[int, int, int]:
        """The Gumbel noise a piece draws: one value per voice, step and token."""
        return (self.n_voices, self.n_steps, self.vocab_size)

    @property
    def latent_dim(self) -> int:
        """Size of the latent a sample is drawn from (the sampler draws z ~ N(0, I) of this size)."""
        return self.z_dim

    @torch.no_grad()
    def sample(self, style: torch.Tensor | None, noise: torch.Tensor, temperature: float = 1.0,
               z: torch.Tensor | None = None, strict_voice_leading: bool = False) -> torch.Tensor:
        """Token windows [B, V, T] (int64): every token at once, x = argmax(G(z, s) / temperature + noise), with
        noise [B, V, T, K] standard Gumbel (Gumbel-max = a categorical draw per voice and step). Voices are drawn
        independently given z, so there is no voice-by-voice rule to enforce: strict voice leading is refused."""
        if strict_voice_leading:
            raise ValueError("strict voice leading needs a model that picks voice by voice (family mle)")
        return (self(z, style) / temperature + noise).argmax(-1)


def gumbel_one_hot(logits: torch.Tensor, tau: float = 1.0, generator: torch.Generator | None = None,
                   hard: bool = True) -> torch.Tensor:
    """Straight-through Gumbel-softmax over the last axis: a one-hot sample forward, the softmax gradient back.

    D then sees generated windows in exactly the form of real ones (one-hot tokens), and G still gets gradients.
    """
    u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).clamp_(1e-9, 1 - 1e-9)
    y_soft = torch.softmax((logits - torch.log(-torch.log(u))) / tau, dim=-1)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim=-1, keepdim=True)
    y_hard = torch.zeros_like(y_soft).scatter_(-1, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def flops_per_sample(model: nn.Module, *inputs) -> float:
    """FLOPs (multiply-adds x 2) of the conv and linear layers per sample, counted with forward hooks on one
    forward pass; the hooks count one sample's work per layer, whatever the batch size."""
    total = 0.0

    def hook(m, inp, out):
        nonlocal total
        if isinstance(m, nn.Linear):
            total += 2 * m.in_features * m.out_features
        elif isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):
            k = m.kernel_size[0]
            n = out.shape[-1] if isinstance(m, nn.Conv1d) else inp[0].shape[-1]
            total += 2 * m.in_channels * m.out_channels // m.groups * k * n

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d,
                                                                                           nn.ConvTranspose1d))]
    with torch.no_grad():
        model(*inputs)
    for h in handles:
        h.remove()
    return total


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

