"""A re-implementation of the official MuseGAN PyTorch tutorial model (ISMIR 2019 tutorial), used only as the
speed reference in bench_train_generate.py. Same block structure (3D transposed convs shared over tracks, then
private per-track blocks; D mirrors it with layer norm), adapted from 5 tracks x 72 pitches to our layout's
tracks x 60 pitches (5 octaves, so the 12-pitch kernels stay as in the tutorial)."""

import torch
from torch import nn

N_MEASURES, MEASURE_RES, N_PITCHES, LATENT = 4, 16, 60, 128


class GBlock(nn.Module):
    def __init__(self, i, o, k, s):
        super().__init__()
        self.conv, self.bn = nn.ConvTranspose3d(i, o, k, s), nn.BatchNorm3d(o)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


class MuseGANGenerator(nn.Module):
    def __init__(self, n_tracks: int):
        super().__init__()
        self.n_tracks = n_tracks
        self.t0 = GBlock(LATENT, 256, (4, 1, 1), (4, 1, 1))
        self.t1 = GBlock(256, 128, (1, 4, 1), (1, 4, 1))
        self.t2 = GBlock(128, 64, (1, 1, 4), (1, 1, 4))
        self.t3 = GBlock(64, 32, (1, 1, 2), (1, 1, 1))  # tutorial: (1, 1, 3) for 6 octaves; 2 gives our 5
        self.t4 = nn.ModuleList(GBlock(32, 16, (1, 4, 1), (1, 4, 1)) for _ in range(n_tracks))
        self.t5 = nn.ModuleList(GBlock(16, 1, (1, 1, 12), (1, 1, 12)) for _ in range(n_tracks))

    def forward(self, z):
        x = self.t3(self.t2(self.t1(self.t0(z.view(-1, LATENT, 1, 1, 1)))))
        x = torch.cat([t5(t4(x)) for t4, t5 in zip(self.t4, self.t5)], dim=1)
        return torch.tanh(x.view(-1, self.n_tracks, N_MEASURES * MEASURE_RES, N_PITCHES))


class LayerNorm(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.gamma, self.beta = nn.Parameter(torch.ones(n)), nn.Parameter(torch.zeros(n))

    def forward(self, x):
        shape = [-1] + [1] * (x.dim() - 1)
        mean = x.view(x.size(0), -1).mean(1).view(*shape)
        std = x.view(x.size(0), -1).std(1).view(*shape)
        y = (x - mean) / (std + 1e-5)
        return self.gamma.view(1, -1, 1, 1, 1) * y + self.beta.view(1, -1, 1, 1, 1)


class DBlock(nn.Module):
    def __init__(self, i, o, k, s):
        super().__init__()
        self.conv, self.ln = nn.Conv3d(i, o, k, s), LayerNorm(o)

    def forward(self, x):
        return nn.functional.leaky_relu(self.ln(self.conv(x)))


class MuseGANDiscriminator(nn.Module):
    def __init__(self, n_tracks: int):
        super().__init__()
        self.n_tracks = n_tracks
        self.c0 = nn.ModuleList(DBlock(1, 16, (1, 1, 12), (1, 1, 12)) for _ in range(n_tracks))
        self.c1 = nn.ModuleList(DBlock(16, 16, (1, 4, 1), (1, 4, 1)) for _ in range(n_tracks))
        self.c2 = DBlock(16 * n_tracks, 64, (1, 1, 2), (1, 1, 1))
        self.c3 = DBlock(64, 64, (1, 1, 4), (1, 1, 4))
        self.c4 = DBlock(64, 128, (1, 4, 1), (1, 4, 1))
        self.c5 = DBlock(128, 128, (2, 1, 1), (1, 1, 1))
        self.c6 = DBlock(128, 256, (3, 1, 1), (3, 1, 1))
        self.dense = nn.Linear(256, 1)

    def forward(self, x):
        x = x.view(-1, self.n_tracks, N_MEASURES, MEASURE_RES, N_PITCHES)
        x = torch.cat([c1(c0(x[:, [i]])) for i, (c0, c1) in enumerate(zip(self.c0, self.c1))], dim=1)
        x = self.c6(self.c5(self.c4(self.c3(self.c2(x)))))
        return self.dense(x.view(-1, 256))


def wgan_gp_step(G, D, opt_g, opt_d, real, gp_weight=10.0):
    """One tutorial training step: a D update with gradient penalty, then a G update."""
    z = torch.randn(len(real), LATENT)
    fake = G(z).detach()
    eps = torch.rand(len(real), 1, 1, 1)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    gp = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
    d_loss = D(fake).mean() - D(real).mean() + gp_weight * gp
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = -D(G(torch.randn(len(real), LATENT))).mean()
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
