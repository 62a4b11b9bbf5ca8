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
    test = load_prepared(args.data, verify=False).splits["test"]
    proposal = load_sampler("mle")
    for i, style in enumerate(proposal.style_names):
        idx = np.flatnonzero(test["style"] == i)[: args.n]
        real = torch.as_tensor(np.stack([test["rolls"][j] for j in idx]).astype(np.int64))
        fake, _ = proposal.generate_tokens([(777, k) for k in range(args.n)], style=style)
        fake = torch.as_tensor(fake.astype(np.int64))
        with torch.no_grad():
            a = guided.log_ratio(real, torch.full((len(real),), i)).numpy()
            b = guided.log_ratio(fake, torch.full((len(fake),), i)).numpy()
        auc = roc_auc_score(np.r_[np.ones(len(a)), np.zeros(len(b))], np.r_[a, b])
        print(f"{style}: AUC {auc:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
