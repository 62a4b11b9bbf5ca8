"""Critic-tilted distillation (family mle with ``distill_from``): the sequence model learns, beside its
likelihood of real windows, the distribution a guided sampler draws from as its K candidates grow without bound,
q(x | c) * exp(beta * l(x, c)) / Z_c (losses/tilted_pool.py), where q is the guided model's proposal and l its
calibrated critic's estimate of log p_data / q.

At the first step the run draws a pool of ``distill_pool`` windows from the proposal, at the guided file's own
sampling and the training data's condition shares, and scores each once (``distill_rerank``: by the critic, or by
the proposal's own log-likelihood, the control that says how much of a gain is only a sharper draw). Each step:
NLL(real batch) + ``distill_weight`` * NLL(a batch resampled from the pool by the tilted probabilities), both per
window. Against REINFORCE, which follows the reverse KL to a reward and seeks modes, this is a forward KL to a
fixed corrected target: it covers what the target covers, and its gradient is a plain likelihood's, with no
variance from a reward. One guided sampler's K = 8 candidates per window are too few to move the summary figures
(docs/adversarial.md, round 11); the pool resamples among thousands per condition, and the model that learns it
draws one window per window.

``distill_from`` may name several guided models of one proposal (say a critic of the tokens and one of what
sounds): the score is then the mean of their log-ratios, an ensemble's estimate of log p_data / q in which what
one critic alone gets wrong counts half.

The pool is a function of (distill_from, the data, the seed and its size) alone (under torchrun, of the process's
shard of the data too), drawn from its own generator, so a resumed run draws it again and continues exactly."""

import torch

from ..config import TrainConfig
from ..data.summary import shape_mismatch
from ..errors import UserError
from ..losses.likelihood import categorical_nll
from ..losses.tilted_pool import effective_share, tilted_draw_probabilities
from ..models.factory import load
from ..sample.draw import gumbel_noise
from ..sample.per_style import per_style
from .distributed import DistInfo
from .recipe_likelihood import LikelihoodRecipe, require_start

POOL_CHUNK = 256  # windows drawn and scored at a time
POOL_SEED = 104729  # the pool's generator: POOL_SEED + seed (never the run's own stream)


class DistillRecipe(LikelihoodRecipe):
    def __init__(self, cfg: TrainConfig, summary: dict, rng: torch.Generator, info: DistInfo):
        require_start(cfg, "distillation (distill_from)")
        super().__init__(cfg, summary, rng, info)
        self.teachers, header = self._load_teachers(cfg, summary)
        sampling = header.get("sampling", {})  # the proposal as its critics saw it
        self.temperature = float(sampling.get("temperature", 1.0))
        self.strict = bool(sampling.get("strict_voice_leading", False))
        self.pitch_temperature = per_style("pitch_temperature", sampling.get("pitch_temperature", 1.0),
                                           summary["style_names"], 1.0)
        self.pool: torch.Tensor | None = None  # [N, V, T] tokens, drawn at the first step
        self.pool_style: torch.Tensor | None = None
        self.pool_probs: torch.Tensor | None = None
        self.windows_per_step = 2 * cfg.batch_size * info.world  # a real batch and a pool batch

    def _load_teachers(self, cfg: TrainConfig, summary: dict) -> tuple[list, dict]:
        """The guided models ``distill_from`` names and the first's header; each must be a guided model of this
        data whose proposal, and the sampling its critic saw, are the first's: the pool is drawn once, from that
        proposal, and every critic's log-ratio must be an estimate for it."""
        teachers, first = [], None
        for name in cfg.distill_teachers():
            header, guided, path = load(name)
            if header.get("family") != "guided":
                raise UserError(f"distill_from: {path} is a {header.get('family')} model; give a guided model (its "
                                "critic tilts the pool)")
            mismatch = shape_mismatch(header["data"], summary)
            if mismatch:
                raise UserError(f"distill_from: {path} was trained on data of another shape ({mismatch})")
            if guided.base.conditional != self.net.conditional:
                raise UserError(f"distill_from: {path}'s proposal and this model differ in whether they read the "
                                "style")
            if first is not None and not same_proposal(teachers[0], guided, first[0], header):
                raise UserError(f"distill_from: {path} judges another proposal than {first[1]} (its base model or "
                                "its sampling differ); the critics must judge one proposal")
            teachers.append(guided)
            first = first or (header, path)
        return teachers, first[0]

    def step(self, step: int, batches, stats) -> None:
        cfg, net = self.cfg, self.net
        first = self._pool_terms(batches) if self.pool is None else {}
        real, style = batches()
        idx = torch.multinomial(self.pool_probs, cfg.batch_size, replacement=True, generator=self.rng)
        drawn, drawn_style = self.pool[idx], self.pool_style[idx]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            nll, terms = self.loss_fn(net, cfg, step, real, style, self.rng)
            pool_nll = categorical_nll(net(drawn, drawn_style if net.conditional else None), drawn).mean()
        loss = nll + cfg.distill_weight * pool_nll
        self.update_model(loss, terms)
        stats.add(terms | first | {"DISTILL/nll": pool_nll.item(),
                                   "DISTILL/nll_per_token": pool_nll.item() / drawn[0].numel()})

    @torch.no_grad()
    def _pool_terms(self, batches) -> dict:
        """Draw and score the pool (conditions at the training windows' shares, from its own generator); returns
        what to log once: the pool's size, its mean log-ratio and the tilted pool's effective share."""
        cfg, base = self.cfg, self.teachers[0].base
        gen = torch.Generator().manual_seed(POOL_SEED + cfg.seed)
        rows = torch.randint(len(batches.style), (cfg.distill_pool,), generator=gen)
        style = batches.style[rows]
        tokens, scores = [], []
        for a in range(0, cfg.distill_pool, POOL_CHUNK):
            s = style[a : a + POOL_CHUNK]
            cond = s if base.conditional else None
            noise = gumbel_noise((len(s), *base.noise_shape), gen)
            x = base.sample(cond, noise, self.temperature, strict_voice_leading=self.strict,
                            pitch_temperature=self.pitch_temperature)
            if cfg.distill_rerank == "critic":  # [critics, n]: each critic's calibrated log-ratio
                scores.append(torch.stack([t.log_ratio(x, s).float() for t in self.teachers]))
            else:  # the control: the proposal's own log-likelihood of the window, nats
                scores.append(base.log_probs(x, cond).float().sum(dim=(1, 2))[None])
            tokens.append(x.to(torch.uint8))
        self.pool, self.pool_style = torch.cat(tokens), style
        each = torch.cat(scores, dim=1)  # [critics (or 1), N]
        score = each.mean(dim=0)  # an ensemble's estimate: the critics' errors that do not agree average out
        self.pool_probs = tilted_draw_probabilities(score, style, cfg.distill_beta)
        terms = {"DISTILL/pool": float(cfg.distill_pool), "DISTILL/pool_score_mean": score.mean().item(),
                 "DISTILL/pool_score_tilted": float((self.pool_probs * score.double()).sum()),
                 "DISTILL/effective_share": effective_share(self.pool_probs, style)}
        if len(each) > 1:  # how far the critics agree on which windows to keep: their mean pairwise correlation
            pairs = torch.corrcoef(each).triu(1)
            terms["DISTILL/critic_correlation"] = float(pairs.sum() / (len(each) * (len(each) - 1) / 2))
        return terms


def same_proposal(a, b, header_a: dict, header_b: dict) -> bool:
    """Whether two guided models' proposals are one model sampled one way: equal base weights and sampling."""
    proposal = ("temperature", "strict_voice_leading", "pitch_temperature")  # not the resampling's beta or K
    if any(header_a.get("sampling", {}).get(k) != header_b.get("sampling", {}).get(k) for k in proposal):
        return False
    sa, sb = a.base.state_dict(), b.base.state_dict()
    return sa.keys() == sb.keys() and all(sa[k].shape == sb[k].shape and torch.equal(sa[k], sb[k]) for k in sa)
