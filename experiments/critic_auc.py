"""Held-out AUC of a guided model's calibrated critic per style: 300 real test windows of each style against 300
samples of that style from the proposal (the shipped ``mle``), scored by ``module.log_ratio``; 0.5 = chance.

    python experiments/critic_auc.py MODEL [--data data/default] [--n 300]
"""

import argparse

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from divertimento.data.dataset import load_prepared
from divertimento.sample.sampler import load_sampler


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    guided = load_sampler(args.model).module
    data = load_prepared(args.data, verify=False)
    test, test_cond = data.splits["test"], data.conditions("test")
    proposal = load_sampler("mle")
    n_meters = max(1, len(proposal.meter_names))
    for i, style in enumerate(proposal.style_names):
        idx = np.flatnonzero(test["style"] == i)[: args.n]
        real = torch.as_tensor(np.stack([test["rolls"][j] for j in idx]).astype(np.int64))
        pairs = [(777, k) for k in range(args.n)]
        fake, _ = proposal.generate_tokens(pairs, style=style)
        fake = torch.as_tensor(fake.astype(np.int64))
        # the condition each window was judged under: (style, meter), as the critic learnt them
        fake_cond = torch.tensor([i * n_meters + proposal.draw(*p, style=style).meter for p in pairs])
        with torch.no_grad():
            a = guided.log_ratio(real, torch.as_tensor(test_cond[idx])).numpy()
            b = guided.log_ratio(fake, fake_cond).numpy()
        auc = roc_auc_score(np.r_[np.ones(len(a)), np.zeros(len(b))], np.r_[a, b])
        print(f"{style}: AUC {auc:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
