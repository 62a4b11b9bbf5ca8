"""How well can each critic design tell real windows from the proposal's samples? Held-out AUC, pooled and per
style, of critics trained for the same steps on the same fixed pools (real training windows against as many
proposal samples with the same conditions; held out: val windows against fresh samples).

A density-ratio resampler can move a sample set only as far as its critic can tell the two apart, so this is the
measurement that picks the critic before any protocol run.

    python experiments/critic_strength.py [--data data/default] [--critics sequence,residual] [--steps 1500]
    python experiments/critic_strength.py --key-only --train 6000 --val 2000

``--transposed``: the real windows (training and held-out pools) moved by a random shift in the data's own
transposition range, as the likelihood term sees them, so that a critic cannot tell them from the samples by their
keys: what is left is what it sees besides the key.

``--key-only``: instead of the critics, a logistic regression on each window's pitch-class histogram (with its
product with the style) and mean pitch per voice, scored on the held-out windows as written and transposed at
random: how much of what the critics see is the key.
"""

import argparse
import time
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from divertimento.data.dataset import load_prepared
from divertimento.data.dataset import moved_at_random as moved_at_random_tokens
from divertimento.models.factory import load
from divertimento.models.guided import build_critic, critic_scores
from divertimento.music.roll import FIRST_PITCH_TOKEN
from divertimento.sample.draw import gumbel_noise


def proposal_samples(base, cond: np.ndarray, temperature: float, strict: bool, seed: int) -> torch.Tensor:
    rng, out = torch.Generator().manual_seed(seed), []
    for a in range(0, len(cond), 256):
        c = torch.as_tensor(cond[a : a + 256])
        out.append(base.sample(c, gumbel_noise((len(c), *base.noise_shape), rng), temperature,
                               strict_voice_leading=strict))
    return torch.cat(out)


def auc_by_style(scores: np.ndarray, labels: np.ndarray, style: np.ndarray, names: list[str]) -> dict:
    out = {"pooled": roc_auc_score(labels, scores)}
    for i, name in enumerate(names):
        m = style == i
        if (labels[m] == 1).sum() >= 50 and (labels[m] == 0).sum() >= 50:
            out[name] = roc_auc_score(labels[m], scores[m])
    return out


def key_features(tokens: torch.Tensor, style: np.ndarray, n_styles: int, low: int) -> np.ndarray:
    """[N, F]: pitch-class histogram of the onsets, its product with the style one-hot, and mean pitch per voice."""
    x = tokens.numpy()
    on = x >= FIRST_PITCH_TOKEN
    pitch = np.where(on, x - FIRST_PITCH_TOKEN + low, 0)
    pc = np.stack([((pitch % 12 == k) & on).sum(axis=(1, 2)) for k in range(12)], 1) / np.maximum(
        on.sum(axis=(1, 2)), 1)[:, None]
    mean = (pitch * on).sum(axis=2) / np.maximum(on.sum(axis=2), 1) / 100  # [N, V]
    onehot = np.eye(n_styles)[style]
    return np.concatenate([pc, mean, onehot, (pc[:, :, None] * onehot[:, None, :]).reshape(len(x), -1)], axis=1)


def moved_at_random(data, tokens: torch.Tensor, seed: int) -> torch.Tensor:
    """``tokens`` [N, V, T] each shifted by a random number of semitones in the data's transposition range."""
    return torch.as_tensor(moved_at_random_tokens(data.manifest, tokens.numpy().astype(np.uint8), seed))


def key_only(data, real_tr, fake_tr, real_va, fake_va, style_tr, style_va, names) -> None:
    low = data.manifest["pitch_range"][0]
    n = len(names)
    clf = LogisticRegression(max_iter=2000).fit(
        np.r_[key_features(real_tr, style_tr, n, low), key_features(fake_tr, style_tr, n, low)],
        np.r_[np.ones(len(real_tr)), np.zeros(len(fake_tr))])
    moved = moved_at_random(data, real_va, 4)
    labels = np.r_[np.ones(len(real_va)), np.zeros(len(fake_va))]
    for name, real in (("as written", real_va), ("transposed at random", moved)):
        s = clf.decision_function(np.r_[key_features(real, style_va, n, low), key_features(fake_va, style_va, n, low)])
        cells = " ".join(f"{k} {v:.3f}" for k, v in auc_by_style(s, labels, np.r_[style_va, style_va], names).items())
        print(f"key only, held-out real {name}: {cells}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--model", default="mle")
    ap.add_argument("--critics", default="sequence,residual")
    ap.add_argument("--train", type=int, default=12000)
    ap.add_argument("--val", type=int, default=3000)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--key-only", action="store_true", help="the key-only baseline instead of the critics")
    ap.add_argument("--transposed", action="store_true", help="real windows moved to random keys (both pools)")
    args = ap.parse_args()
    torch.manual_seed(0)
    data = load_prepared(args.data, verify=False)
    header, base, _ = load(args.model)
    base.eval()
    sampling = header.get("sampling", {})
    temperature, strict = float(sampling.get("temperature", 1.0)), bool(sampling.get("strict_voice_leading"))
    rng = np.random.default_rng(0)
    tr = rng.choice(len(data.splits["train"]["rolls"]), args.train, replace=False)
    va = rng.choice(len(data.splits["val"]["rolls"]), min(args.val, len(data.splits["val"]["rolls"])), replace=False)
    real_tr = torch.as_tensor(data.splits["train"]["rolls"][np.sort(tr)].astype(np.int64))
    cond_tr = data.conditions("train")[np.sort(tr)]
    real_va = torch.as_tensor(data.splits["val"]["rolls"][np.sort(va)].astype(np.int64))
    cond_va = data.conditions("val")[np.sort(va)]
    if args.transposed:
        real_tr, real_va = moved_at_random(data, real_tr, 5), moved_at_random(data, real_va, 6)
    t0 = time.perf_counter()
    fake_tr = proposal_samples(base, cond_tr, temperature, strict, 1)
    fake_va = proposal_samples(base, cond_va, temperature, strict, 2)
    print(f"pools: {len(real_tr)} + {len(fake_tr)} train, {len(real_va)} + {len(fake_va)} held out; "
          f"sampled in {time.perf_counter() - t0:.0f} s", flush=True)
    summary = {"roles": data.manifest["roles"], "vocab_size": base.vocab_size, "window_steps": base.n_steps,
               "pitch_range": data.manifest["pitch_range"], **data.manifest}
    n_meters = max(1, len(data.manifest.get("meter_names", [])))
    style_va = np.r_[cond_va, cond_va] // n_meters
    labels_va = np.r_[np.ones(len(real_va)), np.zeros(len(fake_va))]
    if args.key_only:
        key_only(data, real_tr, fake_tr, real_va, fake_va, cond_tr // n_meters, cond_va // n_meters,
                 data.style_names)
        return 0
    for kind in args.critics.split(","):
        torch.manual_seed(0)
        cfg = SimpleNamespace(critic=kind, embed=base.in_embed.embedding_dim, conditional=True, d_channels=64,
                              spectral_norm=False)
        critic = build_critic(cfg, summary, base)
        if getattr(critic, "in_embed", None) is not None and critic.in_embed.weight.shape == base.in_embed.weight.shape:
            critic.in_embed.weight.data.copy_(base.in_embed.weight.data)
        opt = torch.optim.Adam(critic.parameters(), lr=args.lr, betas=(0.5, 0.99))
        g = torch.Generator().manual_seed(3)
        t0 = time.perf_counter()
        for step in range(1, args.steps + 1):
            critic.train()
            i = torch.randint(len(real_tr), (args.batch,), generator=g)
            j = torch.randint(len(fake_tr), (args.batch,), generator=g)
            r = critic_scores(critic, real_tr[i], torch.as_tensor(cond_tr[i.numpy()]))
            f = critic_scores(critic, fake_tr[j], torch.as_tensor(cond_tr[j.numpy()]))
            loss = F.softplus(-r).mean() + F.softplus(f).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % args.eval_every == 0 or step == args.steps:
                critic.eval()
                with torch.no_grad():
                    s = torch.cat([critic_scores(critic, x[a : a + 512], torch.as_tensor(c[a : a + 512]))
                                   for x, c in ((real_va, cond_va), (fake_va, cond_va))
                                   for a in range(0, len(x), 512)]).numpy()
                aucs = auc_by_style(s, labels_va, style_va, data.style_names)
                cells = " ".join(f"{k} {v:.3f}" for k, v in aucs.items())
                print(f"{kind} step {step} ({time.perf_counter() - t0:.0f} s) loss {loss.item():.3f}: {cells}",
                      flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
