"""Speed of training and generation, side by side with the MuseGAN tutorial model on the same data.

    python benchmarks/bench_train_generate.py [--data data/default] [--seconds 20]

Prints one block of figures; quote them in notes. Uses real windows from a prepared dataset when --data exists,
otherwise random tokens of the default shape (speed does not depend on content)."""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from musegan_reference import N_PITCHES, MuseGANDiscriminator, MuseGANGenerator, wgan_gp_step  # noqa: E402

from divertimento.baselines.sample import PIECES_MODEL, load_model  # noqa: E402
from divertimento.config import TrainConfig, config_from_dict  # noqa: E402
from divertimento.losses.gan_loss import GANLoss  # noqa: E402
from divertimento.models.generator import count_params, flops_per_sample  # noqa: E402
from divertimento.music.roll import FIRST_PITCH_TOKEN, tokens_to_notes  # noqa: E402
from divertimento.sample.generate import generate_tokens  # noqa: E402
from divertimento.sample.model import GeneratorBundle, build_generator  # noqa: E402
from divertimento.train.loop import build_discriminator, make_optimizers  # noqa: E402


def windows(data_dir: str | None, n: int = 4096):
    if data_dir and Path(data_dir, "manifest.json").exists():
        from divertimento.data.dataset import load_prepared
        from divertimento.train.loop import data_summary

        data = load_prepared(data_dir)
        return data.splits["train"]["rolls"][:n], data_summary(data)
    summary = {"roles": ["s", "a", "t", "b"], "vocab_size": 60, "window_steps": 64, "style_names": list("abcdef"),
               "style_shares": [1 / 6] * 6, "pitch_range": [36, 93], "layout": "satb", "steps_per_quarter": 4}
    return np.random.default_rng(0).integers(0, 60, (n, 4, 64)).astype(np.uint8), summary


def timed(fn, seconds: float) -> tuple[int, float]:
    fn()  # warm-up
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return n, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--config", default="configs/default.json")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tokens, summary = windows(args.data)
    cfg = TrainConfig()
    if Path(args.config).exists():
        import json

        cfg = config_from_dict({k: v for k, v in json.loads(Path(args.config).read_text()).items()})
    B = cfg.batch_size
    G, D = build_generator(cfg.to_dict(), summary), build_discriminator(cfg, summary)
    opt_G, opt_D = make_optimizers(cfg, G, D)
    rng = torch.Generator().manual_seed(0)
    loss = GANLoss(G, D, cfg, summary["vocab_size"], rng)
    real = torch.from_numpy(tokens[:B].astype(np.int64))
    style = torch.zeros(B, dtype=torch.long)

    def our_step():
        d, _ = loss.dmain(real, style)
        opt_D.zero_grad()
        d.backward()
        opt_D.step()
        D.requires_grad_(False)
        g, _ = loss.gmain(style)
        opt_G.zero_grad()
        g.backward()
        opt_G.step()
        D.requires_grad_(True)

    n, t = timed(our_step, args.seconds)
    one_hot = torch.nn.functional.one_hot(real, summary["vocab_size"]).float()
    gf = flops_per_sample(G, torch.randn(1, cfg.z_dim), style[:1])
    df = flops_per_sample(D, one_hot[:B], style)  # D's minibatch-std layer needs a batch
    # per window: D phase = G fwd + D fwd/bwd on real and fake (x3 for fwd+bwd); G phase = G and D fwd/bwd
    step_flops = B * (gf + 2 * 3 * df + 3 * gf + 3 * df)
    ours_wps = n * B / t
    print(f"ours: G {count_params(G) / 1e6:.2f} M params {gf / 1e6:.1f} MFLOP/window, "
          f"D {count_params(D) / 1e6:.2f} M params {df / 1e6:.1f} MFLOP/window, batch {B}")
    print(f"ours: {n / t:.2f} steps/s = {ours_wps:.0f} real windows/s trained, "
          f"{step_flops * n / t / 1e9:.1f} GFLOP/s achieved")

    # MuseGAN tutorial reference: WGAN-GP, batch 16, Adam 1e-3 (0.5, 0.9), binary rolls of our windows
    V = len(summary["roles"])
    mg_G, mg_D = MuseGANGenerator(V), MuseGANDiscriminator(V)
    og = torch.optim.Adam(mg_G.parameters(), 1e-3, betas=(0.5, 0.9))
    od = torch.optim.Adam(mg_D.parameters(), 1e-3, betas=(0.5, 0.9))
    roll = np.zeros((16, V, 64, N_PITCHES), dtype=np.float32)
    t16 = tokens[:16].astype(np.int64)
    for b, v, s in zip(*np.nonzero(t16 >= FIRST_PITCH_TOKEN)):
        roll[b, v, s, min(t16[b, v, s] - FIRST_PITCH_TOKEN, N_PITCHES - 1)] = 1
    mg_real = torch.from_numpy(roll) * 2 - 1
    n2, t2 = timed(lambda: wgan_gp_step(mg_G, mg_D, og, od, mg_real), args.seconds)
    ref_wps = n2 * 16 / t2
    print(f"MuseGAN tutorial re-implementation: G {count_params(mg_G) / 1e6:.2f} M, D {count_params(mg_D) / 1e6:.2f} M"
          f" params; {n2 / t2:.2f} steps/s = {ref_wps:.0f} real windows/s trained")
    print(f"ours / reference training throughput: {ours_wps / ref_wps:.2f}x")

    # generation: batch throughput decoded to notes, and single-window latency; the GAN generator just timed
    # (the studio's kind) and the shipped AR model (what `generate` uses by default)
    G.eval()
    bundle = GeneratorBundle(G, {"data": summary, "config": cfg.to_dict()}, Path("."))
    generation_speed("GAN generator", lambda seeds: generate_tokens(bundle, seeds)[0], summary["pitch_range"][0],
                     args.seconds / 2)
    ar = load_model(PIECES_MODEL)
    generation_speed("shipped AR model", lambda seeds: ar.generate_tokens(seeds)[0], ar.low, args.seconds / 2)


def generation_speed(name: str, sample, low: int, seconds: float) -> None:
    """Prints four-bar windows/s in batches of 256 and single-window latency, both decoded to notes."""

    def decoded(seeds) -> None:
        for w in sample(seeds):
            for row in w:
                tokens_to_notes(row, low)

    n, t = timed(lambda: decoded([(1, i) for i in range(256)]), seconds)
    lat = []
    for i in range(60):
        t0 = time.perf_counter()
        decoded([(2, i)])
        lat.append(time.perf_counter() - t0)
    print(f"generation, {name}: {n * 256 / t:.0f} four-bar windows/s in batches of 256 (decoded to notes); "
          f"single-window latency p50 {statistics.median(lat) * 1000:.1f} ms, "
          f"p90 {sorted(lat)[int(0.9 * len(lat))] * 1000:.1f} ms")

if __name__ == "__main__":
    main()
