"""How the guided family trains: the proposal model is frozen; a critic learns real windows against the
proposal's free-running samples (non-saturating loss, optional lazy R1), then is calibrated on held-out windows so
its logit reads as log p_data / p_model."""

import numpy as np
import torch
import torch.nn.functional as F

from ..config import TrainConfig
from ..data.dataset import moved_at_random
from ..data.summary import shape_mismatch
from ..errors import UserError
from ..losses.adversarial import objective, r1_penalty
from ..losses.calibration import fit_platt, two_sample_figures
from ..models.causal_critic import CausalCritic
from ..models.factory import SHIPPED, load
from ..models.guided import GuidedSampler, build_critic, critic_prefix_scores, critic_scores
from ..sample.draw import gumbel_noise
from ..sample.per_style import as_recommended, per_style
from .distributed import DistInfo, average_gradients

CALIBRATION_WINDOWS = 1024  # held-out real windows (and as many proposal samples) the critic is calibrated on
CALIBRATION_SEED = 7919  # the proposal samples of the calibration set: the same in every run


class GuidedRecipe:
    def __init__(self, cfg: TrainConfig, summary: dict, rng: torch.Generator, info: DistInfo):
        self.cfg, self.info, self.rng = cfg, info, rng
        base_header, base, base_path = load(cfg.base_model)
        mismatch = shape_mismatch(base_header["data"], summary)
        if mismatch:
            raise UserError(f"base_model {base_path} was trained on data of another shape ({mismatch})")
        if "mode_names" in base_header["data"]:
            raise UserError(f"base_model {base_path} is conditioned on mode; guided sampling does not yet draw a mode")
        if base.latent_dim or base_header["family"] == "guided":
            raise UserError(f"base_model {base_path} is a {base_header['family']} model; guided sampling resamples "
                            "a model without a latent (family mle)")
        self.critic = build_critic(cfg, summary, base)
        table = getattr(self.critic, "in_embed", None)
        if table is not None and table.weight.shape == getattr(base, "in_embed", table).weight.shape:
            with torch.no_grad():  # a sequence critic starts from the proposal's own token embeddings
                table.weight.copy_(base.in_embed.weight)
        self.model = GuidedSampler(base, self.critic, cfg.candidates, cfg.beta, cfg.rerank)
        self.loss = objective("nonsat")
        self.opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        # the critic must see the proposal exactly as it is sampled: at the base file's recommended settings
        sampling = base_header.get("sampling", {})
        self.temperature = float(sampling.get("temperature", 1.0))
        self.strict = bool(sampling.get("strict_voice_leading", False)) and base.supports_strict_voice_leading
        styles = summary["style_names"]
        self.pitch_temperature = per_style("pitch_temperature", sampling.get("pitch_temperature", 1.0), styles, 1.0)
        self.extra_header = {"base": {k: base_header[k] for k in ("family", "config", "data") if k in base_header}
                             | {"path": cfg.base_model if cfg.base_model in SHIPPED else str(base_path),
                                              "sampling": sampling},
                             "sampling": {"temperature": self.temperature, "strict_voice_leading": self.strict,
                                          "beta": cfg.beta, "rerank": cfg.rerank,
                                          "pitch_temperature": as_recommended(self.pitch_temperature, styles, 1.0)}}
        self.windows_per_step = 2 * cfg.batch_size * info.world  # a real and a proposal batch

    @property
    def trained(self) -> dict:
        return {"critic": self.critic}

    init_sources = {"critic": "model.critic"}

    def start(self) -> None:
        self.model.eval()  # the proposal never trains (the critic is put in training mode at every step)

    def modules(self) -> dict:
        return {"model": self.model}

    def optimizers(self) -> dict:
        return {"opt": self.opt}

    def model_modules(self) -> dict:
        return {"model": self.model}

    @property
    def sampled_optimizer(self) -> torch.optim.Optimizer:
        return self.opt

    def proposal(self, style: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        base = self.model.base
        noise = gumbel_noise((len(style), *base.noise_shape), rng)
        return base.sample(style if base.conditional else None, noise, self.temperature,
                           strict_voice_leading=self.strict, pitch_temperature=self.pitch_temperature)

    def step(self, step: int, batches, stats) -> None:
        cfg = self.cfg
        real, style = batches(as_written=not cfg.critic_transposed)  # critic_transposed: keys spread as the model's
        fake = self.proposal(style, self.rng)  # the same styles: the critic judges music, not style shares
        self.critic.train()  # a sequence critic's dropout (sample grids leave the whole model in eval mode)
        # a causal critic learns every prefix, so its judgements along the way can reward each step of a fine-tune
        scores = critic_prefix_scores if isinstance(self.critic, CausalCritic) else critic_scores
        r, f = scores(self.critic, real, style), scores(self.critic, fake, style)
        loss = self.loss.d_loss(r, f)
        r_win, f_win = (r[:, -1], f[:, -1]) if r.dim() == 2 else (r, f)  # the whole window's judgement
        terms = {"D/loss": loss.item(), "D/real_score": r_win.mean().item(), "D/fake_score": f_win.mean().item(),
                 "D/accuracy": 0.5 * ((r_win > 0).float().mean() + (f_win < 0).float().mean()).item()}
        if cfg.r1_gamma > 0 and step % cfg.r1_interval == 0:
            r1 = r1_penalty(self.critic, F.one_hot(real.long(), self.model.vocab_size).float(), style)
            loss = loss + (cfg.r1_gamma / 2) * r1 * cfg.r1_interval
            terms["D/r1"] = r1.item()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(self.critic, self.info)
        self.opt.step()
        stats.add(terms)

    @torch.no_grad()
    def finish(self, data) -> dict:
        """Calibrate the critic on held-out real windows against as many fresh proposal samples (Platt scaling),
        and report how well it tells them apart: the classifier two-sample figure of the proposal (0.5 = it
        cannot)."""
        self.critic.eval()
        val = data.splits.get("val")
        if val is None or len(val["rolls"]) == 0:
            return {}
        n = min(len(val["rolls"]), CALIBRATION_WINDOWS)
        real = val["rolls"][:n]
        if self.cfg.critic_transposed:  # calibrated on windows as it was trained on them
            real = moved_at_random(data.manifest, real, CALIBRATION_SEED)
        real = torch.from_numpy(real.astype(np.int64))
        style = torch.from_numpy(data.conditions("val")[:n])
        fake = torch.cat([self.proposal(style[a : a + 256], torch.Generator().manual_seed(CALIBRATION_SEED + a))
                          for a in range(0, n, 256)])
        scores = torch.cat([critic_scores(self.critic, real, style), critic_scores(self.critic, fake, style)])
        labels = torch.cat([torch.ones(n), torch.zeros(n)])
        a, b = fit_platt(scores, labels)
        self.model.calibration.copy_(torch.tensor([a, b]))
        return {f"heldout/critic/{k}": v for k, v in two_sample_figures(scores, labels, a, b).items()}
