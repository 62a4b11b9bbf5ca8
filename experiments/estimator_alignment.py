"""Which way does each estimator of the fine-tune's adversarial term push the model, against the true gradient?

The adversarial term raises J(theta) = E_{x ~ p_theta}[r(x)], r the critic's calibrated logit. REINFORCE,
(r(x) - mean r) grad log p_theta(x), is unbiased and noisy; straight-through (plain, and fed back through time)
is low in variance and biased. Per style, on windows the model draws at temperature 1, this estimates the three
gradients over the model's parameters on two disjoint halves A and B of the samples and prints:

- cos(RF_A, RF_B): how far REINFORCE's own noise lets two halves agree (its ceiling);
- cos(ST_A, RF_B) and cos(ST_B, RF_A), averaged, for plain and through-time straight-through: how well the biased
  estimate points along the unbiased one (halves apart, so shared samples do not make them agree);
- cos(ST, ST-time) on all samples, and the norms.

With a true gradient g and RF = g + noise, E[cos(est, RF)] is cos(est, g) scaled by |g| / |RF| alike for both
straight-through estimates, so their ratio compares them directly.

With ``--with-critic CHECKPOINT`` the critic is a fine-tune's own at that checkpoint (its run's calibration is
``--critic``'s, as the fine-tune's was): where the estimators point after the model and the critic have moved.

    python experiments/estimator_alignment.py --n 384 --model mle-wide --critic guided
    python experiments/estimator_alignment.py --n 256 --model runs/X/checkpoints/step-00000300.safetensors \
        --with-critic runs/X/checkpoints/step-00000300.safetensors --styles bach,irish
"""

import argparse

import numpy as np
import torch

from divertimento.data.dataset import load_prepared
from divertimento.losses.relaxed_rollout import relaxed_rollout
from divertimento.losses.straight_through import straight_through_one_hot
from divertimento.models.factory import resolve_model_path
from divertimento.models.files import module_state, read_file
from divertimento.models.guided import critic_scores
from divertimento.sample.draw import gumbel_noise
from divertimento.sample.sampler import load_sampler


def flat_gradient(model: torch.nn.Module, loss: torch.Tensor) -> torch.Tensor:
    """The gradient of ``loss`` over every parameter of ``model``, one vector."""
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(grads, params)])


def output_bias_mask(model: torch.nn.Module) -> torch.Tensor:
    """True at the entries of ``flat_gradient``'s vector that are the heads' output biases: which tokens the model
    favours everywhere, a subspace of a few hundred entries where REINFORCE's noise is small enough to compare."""
    return torch.cat([torch.full((p.numel(),), name.startswith("head_out.") and name.endswith(".bias"))
                      for name, p in model.named_parameters() if p.requires_grad])


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a @ b / (a.norm() * b.norm()))


def estimates(model, critic, calibration, tokens, noise, cond) -> dict[str, torch.Tensor]:
    """The three gradient estimates of E[r] (mean over the rows) on drawn windows ``tokens``."""
    a, b = calibration
    with torch.no_grad():
        reward = a * critic_scores(critic, tokens, cond) + b
    logp = model.log_probs(tokens, cond).sum(dim=(1, 2))
    reinforce = flat_gradient(model, ((reward - reward.mean()) * logp).mean())
    plain = straight_through_one_hot(tokens, model.sampling_logits(tokens, cond), noise, 1.0)
    straight = flat_gradient(model, (a * critic(plain, cond)).mean())
    _, rolled = relaxed_rollout(model, tokens, noise, cond, 1.0, 1.0)
    through_time = flat_gradient(model, (a * critic(rolled, cond)).mean())
    return {"RF": reinforce, "ST": straight, "ST-time": through_time}


def mean_estimates(model, critic, calibration, tokens, noise, cond, batch: int) -> dict[str, torch.Tensor]:
    """``estimates`` over all the rows of ``tokens``, ``batch`` rows at a time, each batch weighed by its rows."""
    sums = {}
    for start in range(0, len(tokens), batch):
        rows = slice(start, start + batch)
        for name, grad in estimates(model, critic, calibration, tokens[rows], noise[rows], cond[rows]).items():
            sums[name] = sums.get(name, 0) + grad * len(tokens[rows])
    return {name: total / len(tokens) for name, total in sums.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--model", default="mle-wide", help="the model whose gradients are taken (family mle)")
    ap.add_argument("--critic", default="guided", help="a guided model whose calibrated critic gives the reward")
    ap.add_argument("--with-critic", default="", help="a fine-tune checkpoint whose critic replaces --critic's")
    ap.add_argument("--styles", default="", help="comma-separated styles (default: all)")
    ap.add_argument("--n", type=int, default=256, help="samples per style, split into two halves")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)  # beside a training run
    data = load_prepared(args.data)
    test = data.splits["test"]
    model = load_sampler(args.model)
    net = model.module.eval().requires_grad_(True)
    guided = load_sampler(args.critic).module
    critic = guided.critic.eval().requires_grad_(False)
    calibration = [float(v) for v in guided.calibration]
    if args.with_critic:
        critic.load_state_dict(module_state(read_file(resolve_model_path(args.with_critic))[1], "critic"))
    print("style | cos(RF_A, RF_B) | cos(ST, RF) | cos(ST-time, RF) | cos(ST, ST-time) | |RF| |ST| |ST-time|")
    for index, style in enumerate(data.style_names):
        if args.styles and style not in args.styles.split(","):
            continue
        meters = np.resize(test["meter"][test["style"] == index], args.n)
        cond = model.conditions([index] * args.n, list(meters))
        noise = gumbel_noise((args.n, *net.noise_shape), torch.Generator().manual_seed(args.seed * 1000 + index))
        with torch.no_grad():
            tokens = net.sample(cond, noise)
        halves = [mean_estimates(net, critic, calibration, tokens[rows], noise[rows], cond[rows], args.batch)
                  for rows in (slice(0, args.n // 2), slice(args.n // 2, args.n))]
        for space, mask in (("all", None), ("output biases", output_bias_mask(net))):
            A, B = ({k: v if mask is None else v[mask] for k, v in half.items()} for half in halves)
            both = {k: (A[k] + B[k]) / 2 for k in A}
            print(f"{style} ({space}) | {cosine(A['RF'], B['RF']):.3f} | "
                  f"{(cosine(A['ST'], B['RF']) + cosine(B['ST'], A['RF'])) / 2:.3f} | "
                  f"{(cosine(A['ST-time'], B['RF']) + cosine(B['ST-time'], A['RF'])) / 2:.3f} | "
                  f"{cosine(both['ST'], both['ST-time']):.3f} | "
                  f"{both['RF'].norm():.4f} {both['ST'].norm():.4f} {both['ST-time'].norm():.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
