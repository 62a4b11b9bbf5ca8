"""Small building blocks shared by G and D."""

import torch
from torch import nn


def groups_for(channels: int) -> int:
    for g in (8, 4, 2):
        if channels % g == 0:
            return g
    return 1


class UpBlock(nn.Module):
    """Doubles the time axis: transposed conv (k4 s2), a k3 conv, GroupNorm, and a per-channel style bias."""

    def __init__(self, c_in: int, c_out: int, style_dim: int):
        super().__init__()
        self.up = nn.ConvTranspose1d(c_in, c_out, kernel_size=4, stride=2, padding=1)
        self.norm1 = nn.GroupNorm(groups_for(c_out), c_out)
        self.conv = nn.Conv1d(c_out, c_out, kernel_size=3, padding=1)
        self.norm2 = nn.GroupNorm(groups_for(c_out), c_out)
        # style_dim 0 means unconditional: no style bias
        self.style_bias = nn.Linear(style_dim, 2 * c_out) if style_dim else None
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor, s: torch.Tensor | None) -> torch.Tensor:
        h = self.act(self.norm1(self.up(x)))  # [B, C, 2L]
        if self.style_bias is not None:
            b1, b2 = self.style_bias(s).unsqueeze(-1).chunk(2, dim=1)
            h = h + b1
        else:
            b2 = 0
        return h + self.act(self.norm2(self.conv(h)) + b2)  # residual refinement at the new resolution


class MinibatchStd(nn.Module):
    """ProGAN's minibatch standard deviation: one extra channel holding the mean over features of the
    per-feature std across a group of samples, so D can see when a batch lacks variety."""

    def __init__(self, group_size: int):
        super().__init__()
        self.group_size = group_size  # samples per group; 0 disables the layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.group_size <= 0:
            return x
        B, C, L = x.shape
        g = min(self.group_size, B)
        while B % g:
            g -= 1
        y = x.reshape(g, B // g, C, L)  # [G, B/G, C, L]
        y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2))  # [B/G]
        y = y.reshape(1, B // g, 1, 1).expand(g, -1, 1, L).reshape(B, 1, L)
        return torch.cat([x, y], dim=1)
