"""Adversarial fine-tuning of the sequence model (family mle with adv_weight > 0): start from a trained model,
keep its maximum-likelihood loss every step, and add a policy-gradient term whose reward is a critic's judgement
of the model's own free-running windows (losses/policy_gradient.py), anchored by a KL penalty to the start.

Each step: ``d_steps`` critic updates (real windows against fresh samples, non-saturating loss; with ``r1_gamma``
a lazy R1 penalty on the first, every ``r1_interval`` steps), then one model update of NLL(real) + adv_weight *
REINFORCE(samples), both per token, the reward less a charge on voices that fall silent where the style's voices do
not (``silence_charge``, losses/silence.py). With a causal critic
(``critic: causal``) the critic learns on every prefix and REINFORCE gets a reward at every step
(``dense_reinforce_terms``). With ``adv_estimator: straight-through`` the REINFORCE term gives way to the critic's
own gradient through the sample's one-hots and an exact KL penalty per position (losses/straight_through.py); with
``straight-through-time`` the model also reads its window through those one-hots, so the gradient runs through time
(losses/relaxed_rollout.py).
Logged: the samples' entropy per token (the negative log-likelihood of the model's own samples), so a gain that is
only a lower temperature shows as a falling entropy.
"""

import copy
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from ..config import TrainConfig, config_from_dict
from ..data.summary import shape_mismatch
from ..errors import UserError
from ..losses.adversarial import objective, r1_penalty
from ..losses.policy_gradient import dense_reinforce_terms, mode_weighted_reward, reinforce_terms
from ..losses.relaxed_rollout import relaxed_rollout
from ..losses.silence import label_bar_steps, rare_silences, silence_charges
from ..losses.straight_through import (
    annealed_tau,
    charge_score_term,
    position_kl,
    straight_through_one_hot,
    straight_through_terms,
)
from ..models.causal_critic import CausalCritic
from ..models.factory import resolve_model_path
from ..models.files import module_state, read_file
from ..models.guided import build_critic, critic_prefix_scores, critic_scores
from ..models.sequence import check_pitch_temperature
from ..sample.draw import gumbel_noise
from ..sample.per_style import as_recommended, per_style
from .distributed import DistInfo, average_gradients
from .recipe_likelihood import LikelihoodRecipe, require_start


@contextmanager
def without_dropout(*modules: torch.nn.Module):
    """The modules in eval mode for the block (gradients still flow), each restored to its mode after: the
    sampler is scored, and the critics judge for the reward, as they were drawn and calibrated, without dropout."""
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


def load_pretrained_critic(critic, kind: str, source: str, summary: dict) -> tuple[float, float]:
    """Fill ``critic`` (of ``kind``, a ``critic`` config value) with a guided model's critic; returns that critic's
    calibration (a, b)."""
    header, tensors = read_file(resolve_model_path(source))
    if header.get("family") != "guided":
        raise UserError(f"critic_init: {source} is a {header.get('family')} model; give a guided model's run or file")
    theirs = header["config"].get("critic", "conv")
    if theirs != kind:
        raise UserError(f"critic_init: {source}'s critic is a {theirs} critic; this run's is {kind} (set critic to "
                        f"{theirs})")
    mismatch = shape_mismatch(header["data"], summary)
    if mismatch:
        raise UserError(f"critic_init: {source} was trained on data of another shape ({mismatch})")
    state = with_modes(module_state(tensors, "model.critic"), critic)
    try:
        critic.load_state_dict(state)
    except RuntimeError as e:
        raise UserError(f"critic_init: {source}'s critic has another size (set d_channels to "
                        f"{header['config']['d_channels']}): {str(e).splitlines()[0][:80]}") from None
    a, b = tensors["model.calibration"].tolist()
    return float(a), float(b)


def with_modes(state: dict, critic) -> dict:
    """A critic trained without a mode condition, given to a run with one (``mode_condition``): every mode starts
    with the source's vector of the same (style, meter) and a zero mode vector (``StepReader.add_modes``). Labels
    run (mode x styles + style) x meters + meter, so the table for all modes is the source's table once per mode:
    the critic starts out judging every mode alike."""
    table, rows = getattr(critic, "style", None), state.get("style.weight")
    if table is None or rows is None or table.weight.shape[0] == rows.shape[0]:
        return state
    modes, left = divmod(table.weight.shape[0], rows.shape[0])
    if left or modes < 2:  # not a mode condition's multiple: load_state_dict names the mismatch
        return state
    # the mode's parts keep their fresh values: the mode vectors start at zero (so the critic judges as its source
    # did), a projection of the features (``SequenceCritic.add_modes``) at random
    fresh = {k: v for k, v in critic.state_dict().items() if k.split(".")[0] in ("mode", "mode_projection")}
    return state | {"style.weight": rows.repeat(modes, 1)} | fresh


def sampled_pitch_temperature(cfg: TrainConfig, summary: dict) -> float | tuple[float, ...]:
    """The pitch temperature the fine-tune samples at (``adv_pitch_temperature``): one, or one per style of the
    data; 1 = none. One clear line for a malformed value, a style the data lacks or a value out of range."""
    if not cfg.adv_pitch_temperature:
        return 1.0
    text = cfg.adv_pitch_temperature
    try:
        value = float(text)
    except ValueError:
        value = text  # STYLE:VALUE/STYLE:VALUE, read by per_style
    resolved = per_style("adv_pitch_temperature", value, summary["style_names"], 1.0)
    try:
        check_pitch_temperature(resolved)
    except ValueError as e:
        raise UserError(f"adv_pitch_temperature: {e}") from None
    return resolved


def load_window_critic(source: str, summary: dict) -> tuple[torch.nn.Module, tuple[float, float]]:
    """A guided model's window critic, built as that model was trained, and its calibration."""
    header, _ = read_file(resolve_model_path(source))
    if header.get("family") != "guided" or header["config"].get("critic", "").startswith("causal"):
        raise UserError(f"window_critic_init: {source} is not a guided model with a window critic (sequence or conv)")
    critic = build_critic(config_from_dict(header["config"]), summary)
    return critic, load_pretrained_critic(critic, header["config"].get("critic", "conv"), source, summary)


class AdversarialRecipe(LikelihoodRecipe):
    def __init__(self, cfg: TrainConfig, summary: dict, rng: torch.Generator, info: DistInfo):
        require_start(cfg, "adversarial fine-tuning (adv_weight > 0)")
        super().__init__(cfg, summary, rng, info)
        self.critic = build_critic(cfg, summary)
        # a causal critic judges every prefix: the critic learns on every prefix and the model gets a reward per step
        self.dense = isinstance(self.critic, CausalCritic)
        self.calibration = (1.0, 0.0)  # the reward is a * logit + b: the critic's log-ratio estimate
        if cfg.critic_init:
            self.calibration = load_pretrained_critic(self.critic, cfg.critic, cfg.critic_init, summary)
        self.opt_D = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr_d, betas=(0.5, 0.99))
        # a window critic of keys beside the main critic: its judgement of the whole window joins the reward
        self.window_critic, self.window_calibration, self.opt_W = None, (1.0, 0.0), None
        if cfg.window_critic_init:
            self.window_critic, self.window_calibration = load_window_critic(cfg.window_critic_init, summary)
            self.opt_W = torch.optim.Adam(self.window_critic.parameters(), lr=cfg.lr_d, betas=(0.5, 0.99))
        self.reference = None
        self.loss_D = objective("nonsat")
        self.summary = summary
        self.bar_steps, self.rare_silence = label_bar_steps(summary), None  # the latter from the first batch's data
        self.pitch_temperature = sampled_pitch_temperature(cfg, summary)
        if not isinstance(self.pitch_temperature, float) and not self.net.conditional:
            raise UserError("adv_pitch_temperature: a value per style needs a style-conditional model (conditional)")
        if cfg.adv_pitch_temperature:  # the model file recommends the pitch temperature the run was trained at
            self.extra_header = {"sampling": {"pitch_temperature": as_recommended(
                self.pitch_temperature, summary["style_names"], 1.0)}}
        # real for D (d_steps batches), for a critic of keys when D's are transposed, for NLL; samples for all
        keyed = 1 if cfg.window_critic_init and cfg.critic_transposed else 0
        self.windows_per_step = (2 + cfg.d_steps + keyed) * cfg.batch_size * info.world

    @property
    def trained(self) -> dict:
        window = {"window_critic": self.window_critic} if self.window_critic is not None else {}
        return {"model": self.net, "critic": self.critic} | window

    def start(self) -> None:
        """The reference is the model as the run starts (after init_from); a resumed run restores its own."""
        super().start()
        self.reference = copy.deepcopy(self.net).eval().requires_grad_(False)
        table = getattr(self.critic, "in_embed", None)
        if not self.cfg.critic_init and table is not None and table.weight.shape == self.net.in_embed.weight.shape:
            with torch.no_grad():  # a fresh sequence critic starts from the model's own token embeddings
                table.weight.copy_(self.net.in_embed.weight)

    def modules(self) -> dict:
        return self.trained | {"reference": self.reference}

    def optimizers(self) -> dict:
        return {"opt": self.opt, "opt_D": self.opt_D} | ({"opt_W": self.opt_W} if self.opt_W is not None else {})

    def model_modules(self) -> dict:
        return {"model": self.net}

    def step(self, step: int, batches, stats) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):  # bf16_autocast (LikelihoodRecipe)
            self._step(step, batches, stats)

    def _step(self, step: int, batches, stats) -> None:
        cfg, net = self.cfg, self.net
        # the critic judges real windows in their own keys (batches(as_written=True)), or moved to random keys
        # (critic_transposed), against free-running samples of the same conditions (at temperature 1, or the run's
        # pitch temperature); the likelihood term keeps the run's transposition
        judged, style = batches(as_written=not cfg.critic_transposed)
        cond = self._model_condition(style)
        noise = gumbel_noise((len(style), *net.noise_shape), self.rng)
        with without_dropout(net):  # the sample is the model's, not a perturbed one's
            fake = net.sample(cond, noise, pitch_temperature=self.pitch_temperature)
        scores = critic_prefix_scores if self.dense else critic_scores
        r, f = scores(self.critic, judged, style), scores(self.critic, fake, style)
        d_loss = self.loss_D.d_loss(r, f)
        critic_loss, r1_terms = d_loss, {}
        if cfg.r1_gamma > 0 and step % cfg.r1_interval == 0:
            # R1 (Mescheder et al. 2018) on the real windows just judged: a critic flat around real music, whose
            # gradient at a sample (what straight-through follows) is less a direction that merely fools it
            r1 = r1_penalty(self.critic, F.one_hot(judged.long(), self.critic.vocab_size).float(), style)
            critic_loss, r1_terms = d_loss + (cfg.r1_gamma / 2) * r1 * cfg.r1_interval, {"D/r1": r1.item()}
        self._critic_update(self.critic, self.opt_D, critic_loss)
        for _ in range(cfg.d_steps - 1):  # more critic updates: fresh real windows against the same samples
            more, more_style = batches(as_written=not cfg.critic_transposed)
            self._critic_update(self.critic, self.opt_D, self.loss_D.d_loss(scores(self.critic, more, more_style),
                                                                             scores(self.critic, fake, style)))
        window_terms = {}
        if self.window_critic is not None:  # a critic of keys: it judges real windows as written, whatever the
            keyed = batches(as_written=True) if cfg.critic_transposed else (judged, style)  # main critic sees
            window_terms = self._window_critic_step(keyed, fake, style)
        real, real_style = batches()
        nll, terms = self.loss_fn(net, cfg, step, real, real_style, self.rng)
        if cfg.adv_estimator.startswith("straight-through"):
            adv, adv_terms = self._straight_through(step, fake, noise, style, batches)
        else:
            adv, adv_terms = self._policy_gradient(fake, style, batches)
        # during the warm-up the critic learns what the model gets wrong before its judgement moves the model
        weight = cfg.adv_weight if step >= cfg.adv_warmup else 0.0
        n_tokens = real[0].numel()
        loss = nll / n_tokens + weight * adv / n_tokens
        self.update_model(loss, terms)
        terms |= adv_terms | window_terms | r1_terms | {"D/loss": d_loss.item(), "D/real_score": r.mean().item(),
                                                        "D/fake_score": f.mean().item()}
        stats.add(terms)

    def _policy_gradient(self, fake: torch.Tensor, style: torch.Tensor, batches) -> tuple[torch.Tensor, dict]:
        """REINFORCE's surrogate loss (nats per window) for the samples ``fake`` and its terms to log."""
        cfg, net = self.cfg, self.net
        scores = critic_prefix_scores if self.dense else critic_scores
        cond = self._model_condition(style)
        # log q(x) of the sampler that drew the window (at the run's pitch temperature): the policy it improves.
        # Scored without dropout, as it was drawn, and judged by critics without theirs, as they were calibrated:
        # with dropout the score is another model's (its drift from the reference read -0.36 nats per window in
        # round 19's run) and the reward carries the critic's dropout noise on top of REINFORCE's own
        judges = [c for c in (self.critic, self.window_critic) if c is not None]
        with without_dropout(net):
            logp_steps = net.log_probs(fake, cond, self.pitch_temperature).sum(dim=1)  # [B, T] with gradient
        logp = logp_steps.sum(dim=1)
        with torch.no_grad(), without_dropout(*judges):
            ref_steps = self.reference.log_probs(fake, cond, self.pitch_temperature).sum(dim=1)
            a, b = self.calibration
            logit = a * scores(self.critic, fake, style) + b
            terminal = None
            if self.window_critic is not None:
                a, b = self.window_calibration
                terminal = a * critic_scores(self.window_critic, fake, style) + b
        entropy = {"ADV/entropy_per_token": -logp.mean().item() / fake[0].numel()}
        if self.dense:
            pg, pg_terms = dense_reinforce_terms(logp_steps, ref_steps, logit, cfg.adv_kl, cfg.adv_gamma, terminal)
            return pg, pg_terms | entropy
        # the window's reward: the critic's logit, a window critic's beside it, less the silence charge
        reward, extra = logit, {"ADV/critic_logit": logit.mean().item()}
        if terminal is not None:
            reward, extra["ADV/window_logit"] = reward + terminal, terminal.mean().item()
        if cfg.adv_mode_weight != 1:  # the critic's mode term weighs more (or less) than the rest of its logit
            with torch.no_grad(), without_dropout(self.critic):
                mode = self.calibration[0] * self.critic.mode_term(fake, style)
            reward = mode_weighted_reward(reward, mode, cfg.adv_mode_weight)
            extra["ADV/mode_term"] = mode.mean().item()
        if cfg.silence_charge > 0:
            charge = silence_charges(fake, style, self._rare_silence(batches), self.bar_steps, cfg.silence_charge)
            reward, extra["ADV/silence_charge"] = reward - charge, charge.mean().item()
        pg, pg_terms = reinforce_terms(logp, ref_steps.sum(dim=1), reward, cfg.adv_kl)
        return pg, pg_terms | extra | entropy

    def _straight_through(self, step: int, fake: torch.Tensor, noise: torch.Tensor, style: torch.Tensor,
                          batches) -> tuple[torch.Tensor, dict]:
        """The straight-through loss (nats per window) for the samples ``fake`` drawn with Gumbel ``noise``
        [B, V, T, K], and its terms to log. The model's logits are those that drew the sample (no dropout), so the
        relaxed one-hots peak where the drawn tokens are; with ``straight-through-time`` the model re-reads the
        window through those one-hots (``relaxed_rollout``). The critic judges without dropout, and learns nothing
        here. The silence charge, a function of the drawn tokens with no gradient through them, enters by the score
        function (``charge_score_term``)."""
        cfg, net, critic, cond = self.cfg, self.net, self.critic, self._model_condition(style)
        tau = annealed_tau(cfg.adv_tau, cfg.adv_tau_final, step, cfg.steps)
        with without_dropout(net):
            if cfg.adv_estimator == "straight-through-time":  # [B, V, T, K] each, with gradient
                logits, y = relaxed_rollout(net, fake, noise, cond, self.pitch_temperature, tau)
            else:
                logits = net.sampling_logits(fake, cond, self.pitch_temperature)
                y = straight_through_one_hot(fake, logits, noise, tau)
        with torch.no_grad():
            ref = self.reference.sampling_logits(fake, cond, self.pitch_temperature)
        with without_dropout(critic):
            critic.requires_grad_(False)  # the gradient reaches the model through y, none the critic's weights
            a, b = self.calibration
            logit = a * critic(y, style).float() + b
            critic.requires_grad_(True)
        loss, st_terms = straight_through_terms(logit, position_kl(logits, ref), cfg.adv_kl)
        logp = torch.log_softmax(logits, dim=-1).gather(-1, fake.long().unsqueeze(-1)).sum(dim=(1, 2, 3))  # [B]
        if cfg.silence_charge > 0:  # a charge on the drawn tokens: by the score function, as REINFORCE's reward
            charge = silence_charges(fake, style, self._rare_silence(batches), self.bar_steps, cfg.silence_charge)
            loss = loss + charge_score_term(logp, charge)
            st_terms["ADV/silence_charge"] = charge.mean().item()
        return loss, st_terms | {"ADV/tau": tau, "ADV/entropy_per_token": -logp.mean().item() / fake[0].numel()}

    def _model_condition(self, style: torch.Tensor) -> torch.Tensor | None:
        """The condition labels the model reads: the batch's, or None for an unconditional model."""
        return style if self.net.conditional else None

    def _rare_silence(self, batches) -> torch.Tensor:
        """Where a silent bar is charged, from the run's real training windows (its shard under torchrun)."""
        if self.rare_silence is None:
            self.rare_silence = rare_silences(batches.tokens, batches.style, self.summary)
        return self.rare_silence

    def _window_critic_step(self, real: tuple[torch.Tensor, torch.Tensor], fake: torch.Tensor,
                            style: torch.Tensor) -> dict:
        """One update of the window critic on real windows (tokens, conditions) against the samples."""
        r = critic_scores(self.window_critic, *real)
        f = critic_scores(self.window_critic, fake, style)
        loss = self.loss_D.d_loss(r, f)
        self._critic_update(self.window_critic, self.opt_W, loss)
        return {"W/loss": loss.item(), "W/real_score": r.mean().item(), "W/fake_score": f.mean().item()}

    def _critic_update(self, critic: torch.nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(critic, self.info)
        opt.step()
