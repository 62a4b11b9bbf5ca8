"""How the token GAN trains: D phase(s), optional lazy R1, G phase (with the VAE-GAN ELBO when asked), EMA of G.
The EMA generator is the sampled ``model``."""

import torch

from ..config import TrainConfig
from ..data.conditions import n_conditions
from ..losses.adversarial import objective
from ..losses.gan_loss import GANLoss
from ..models.discriminator import Discriminator
from ..models.factory import build_generator
from ..models.vae import Encoder
from .distributed import DistInfo, average_gradients
from .ema import ema_beta, make_ema, update_ema


def build_discriminator(cfg: TrainConfig, data: dict) -> Discriminator:
    return Discriminator(
        n_voices=len(data["roles"]), vocab_size=data["vocab_size"], n_steps=data["window_steps"],
        n_styles=n_conditions(data), channels=cfg.d_channels, conditional=cfg.conditional,
        mbstd_group=cfg.mbstd_group, pack=cfg.pack, use_spectral_norm=cfg.spectral_norm,
        pitch_low=data["pitch_range"][0],
    )


def build_encoder(cfg: TrainConfig, data: dict) -> Encoder | None:
    """The VAE-GAN encoder, only when recon_weight > 0."""
    if cfg.recon_weight <= 0:
        return None
    return Encoder(n_voices=len(data["roles"]), vocab_size=data["vocab_size"], n_steps=data["window_steps"],
                   z_dim=cfg.z_dim, n_styles=n_conditions(data), style_dim=cfg.style_dim,
                   channels=cfg.d_channels, conditional=cfg.conditional, pitch_low=data["pitch_range"][0])


class GANRecipe:
    def __init__(self, cfg: TrainConfig, summary: dict, rng: torch.Generator, info: DistInfo):
        objective(cfg.loss)  # an unknown objective is a clear error before anything is built
        self.cfg, self.info = cfg, info
        self.G = build_generator(cfg, summary)
        self.D = build_discriminator(cfg, summary)
        self.E = build_encoder(cfg, summary)
        # lazy R1 (stylegan2): D's lr and betas scaled by c = N / (N + 1) so the regularised optimiser is unchanged
        c = cfg.r1_interval / (cfg.r1_interval + 1) if cfg.r1_gamma > 0 else 1.0
        g_params = list(self.G.parameters()) + (list(self.E.parameters()) if self.E is not None else [])
        self.opt_G = torch.optim.Adam(g_params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d * c, betas=(cfg.beta1**c, cfg.beta2**c))
        self.loss = GANLoss(self.G, self.D, cfg, summary["vocab_size"], rng, self.E)
        self.beta = ema_beta(cfg.batch_size * info.world, cfg.ema_kimg)
        self.G_ema = None
        # windows drawn per step, all processes together: d_steps real batches for D, one for G
        self.windows_per_step = cfg.batch_size * (cfg.d_steps + 1) * info.world

    extra_header: dict = {}  # config and data say all a model file needs

    @property
    def trained(self) -> dict:
        """Modules the optimisers update (what init_from fills and torchrun broadcasts), with the checkpoint
        prefix each is read from when another run initialises this one: G starts from the EMA generator."""
        return {"G": self.G, "D": self.D} | ({"E": self.E} if self.E is not None else {})

    init_sources = {"G": "model", "D": "D", "E": "E"}

    def start(self) -> None:
        """After weights are initialised and broadcast: the EMA starts as a copy of G."""
        self.G_ema = make_ema(self.G)

    def modules(self) -> dict:
        return {"model": self.G_ema} | self.trained

    def optimizers(self) -> dict:
        return {"opt_G": self.opt_G, "opt_D": self.opt_D}

    def model_modules(self) -> dict:
        return {"model": self.G_ema}

    @property
    def sampled_optimizer(self) -> torch.optim.Optimizer:
        return self.opt_G

    def _update_D(self, d_loss: torch.Tensor, d_stats: dict, stats) -> None:
        self.opt_D.zero_grad(set_to_none=True)
        d_loss.backward()
        average_gradients(self.D, self.info)
        self.opt_D.step()
        stats.add(d_stats)

    def step(self, step: int, batches, stats) -> None:
        cfg, info, G, D, E, loss = self.cfg, self.info, self.G, self.D, self.E, self.loss
        D.requires_grad_(True)
        for k in range(cfg.d_steps):
            real, style = batches()
            self._update_D(*loss.dmain(real, style), stats)
            if cfg.r1_gamma > 0 and (step * cfg.d_steps + k) % cfg.r1_interval == 0:
                self._update_D(*loss.dreg(real, style), stats)
        # G phase: styles drawn like the data's, so a conditional G learns every style in proportion
        real, style = batches()
        D.requires_grad_(False)
        g_loss, g_stats = loss.gmain(style, real)
        self.opt_G.zero_grad(set_to_none=True)
        g_loss.backward()
        average_gradients(G, info)
        if E is not None:
            average_gradients(E, info)
        if cfg.grad_clip > 0:
            g_stats["G/grad_norm"] = float(torch.nn.utils.clip_grad_norm_(G.parameters(), cfg.grad_clip))
        self.opt_G.step()
        stats.add(g_stats)
        update_ema(self.G_ema, G, self.beta)

    def finish(self, data) -> dict:
        return {}  # a GAN has no likelihood to measure on held-out windows
