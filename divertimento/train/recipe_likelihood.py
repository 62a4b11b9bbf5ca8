"""How the likelihood families train: one update of the family's loss (losses/likelihood.py) per step, with
gradient clipping; the held-out loss on the val split at the end tells learning from memorising."""

import numpy as np
import torch

from ..config import TrainConfig
from ..data.modes import mode_labels
from ..errors import UserError
from ..losses.likelihood import LIKELIHOOD_LOSSES
from ..models.factory import family
from ..models.low_precision import use_bfloat16
from .distributed import DistInfo, average_gradients

HELDOUT_WINDOWS = 2048  # val windows the final held-out loss is measured on (the first ones, no transposition)


def require_start(cfg: TrainConfig, what: str) -> None:
    """One line for a fine-tune (``what``) given no model to start from."""
    if not cfg.init_from:
        raise UserError(f"{what} starts from a trained model: set init_from to its run dir, checkpoint or model file")


class LikelihoodRecipe:
    def __init__(self, cfg: TrainConfig, summary: dict, rng: torch.Generator, info: DistInfo):
        self.cfg, self.info, self.rng = cfg, info, rng
        fam = family(cfg.family)
        self.net = fam.build(cfg, summary)
        self.sampled = fam.sampled(self.net)
        self.loss_fn = LIKELIHOOD_LOSSES[cfg.family]
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.windows_per_step = cfg.batch_size * info.world
        self.bf16 = use_bfloat16(cfg.bf16_autocast)  # float32 where bfloat16 would be emulated (slower)

    extra_header: dict = {}  # config and data say all a model file needs

    @property
    def trained(self) -> dict:
        """The sampled module as ``model`` and, where the family trains more (the VAE's encoder), the rest by its
        own name."""
        if self.sampled is self.net:
            return {"model": self.net}
        return {"model": self.sampled} | {n: m for n, m in self.net.named_children() if m is not self.sampled}

    @property
    def init_sources(self) -> dict:
        return {name: name for name in self.trained}

    def start(self) -> None:
        self.net.train()

    def modules(self) -> dict:
        return self.trained

    def optimizers(self) -> dict:
        return {"opt": self.opt}

    def model_modules(self) -> dict:
        return self.trained

    @property
    def sampled_optimizer(self) -> torch.optim.Optimizer:
        return self.opt

    def step(self, step: int, batches, stats) -> None:
        tokens, style = batches()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            loss, terms = self.loss_fn(self.net, self.cfg, step, tokens, style, self.rng)
        self.update_model(loss, terms)
        stats.add(terms)

    def update_model(self, loss: torch.Tensor, terms: dict) -> None:
        """One optimiser step of the model on ``loss``: gradients averaged over processes and clipped to
        ``grad_clip`` (their norm logged in ``terms``)."""
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(self.net, self.info)
        if self.cfg.grad_clip > 0:
            terms["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.cfg.grad_clip))
        self.opt.step()

    @torch.no_grad()
    def finish(self, data, batch_size: int = 256) -> dict:
        """The loss terms on the val split (mean over its first HELDOUT_WINDOWS windows), named
        ``heldout/<term>``; empty when there is no val split. Its own noise stream: the run's is untouched."""
        val = data.splits.get("val")
        if val is None or len(val["rolls"]) == 0:
            return {}
        tokens = torch.from_numpy(val["rolls"][:HELDOUT_WINDOWS].astype(np.int64))
        # a model conditioned on mode is told each window's (so this is its conditional NLL: experiments/held_out_nll.py
        # gives the likelihood marginal over the modes, comparable with a model without them)
        modes = mode_labels(val["rolls"], data.low) if self.cfg.mode_condition else None
        style = torch.from_numpy(data.conditions("val", modes)[:HELDOUT_WINDOWS])
        rng = torch.Generator().manual_seed(0)
        self.net.eval()
        sums: dict[str, float] = {}
        for a in range(0, len(tokens), batch_size):
            _, terms = self.loss_fn(self.net, self.cfg, self.cfg.steps, tokens[a : a + batch_size],
                                    style[a : a + batch_size], rng)
            n = len(tokens[a : a + batch_size])
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v * n
        return {f"heldout/{k}": round(v / len(tokens), 5) for k, v in sums.items() if not k.endswith("/beta")}
