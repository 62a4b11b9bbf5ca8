"""Training loop of the baselines: the GAN trainer's data path (same batches, same transposition), run-dir layout
and stats log, with one maximum-likelihood (AR) or ELBO (VAE) update per step.

No exact resume (the ablation restarts an interrupted baseline run from scratch; runs are minutes long)."""

import math
import time
from pathlib import Path

import numpy as np
import torch

from ..atomic import write_json_atomic
from ..data.dataset import load_prepared
from ..errors import UserError
from ..models.generator import Generator, count_params
from ..train.batches import BatchSampler
from ..train.checkpoint import KIND_MODEL, SCHEMA, write_file
from ..train.loop import data_summary
from ..train.stats import StatsLog
from .ar import ARModel
from .config import BaselineConfig
from .sample import build_ar
from .vae import VAE, Encoder, categorical_nll, kl_weight_at

SAMPLE_SEED = 2024  # the final grid uses seeds (SAMPLE_SEED, i), like the GAN trainer's grids


def build_vae(cfg: BaselineConfig, data: dict) -> VAE:
    V, K, T, S = len(data["roles"]), data["vocab_size"], data["window_steps"], len(data["style_names"])
    enc = Encoder(V, K, T, cfg.z_dim, S, cfg.style_dim, cfg.enc_channels, cfg.conditional, data["pitch_range"][0])
    dec = Generator(V, K, T, cfg.z_dim, S, cfg.style_dim, cfg.g_channels, cfg.conditional)
    return VAE(enc, dec)


def build_baseline(cfg: BaselineConfig, data: dict) -> torch.nn.Module:
    return build_vae(cfg, data) if cfg.kind == "vae" else build_ar(cfg.to_dict(), data)


def loss_and_stats(model, cfg: BaselineConfig, step: int, tokens: torch.Tensor, style: torch.Tensor,
                   rng: torch.Generator) -> tuple[torch.Tensor, dict]:
    """The step's loss (mean over the batch) and every term by name, in nats per window unless named per token."""
    per_window_tokens = tokens.shape[1] * tokens.shape[2]
    if isinstance(model, VAE):
        recon, kl = model.elbo_terms(tokens, style, rng)
        beta = kl_weight_at(step, cfg.kl_weight, cfg.kl_warmup)
        loss = (recon + beta * kl).mean()
        elbo = -(recon + kl).mean().item()
        return loss, {"VAE/loss": loss.item(), "VAE/recon": recon.mean().item(), "VAE/kl": kl.mean().item(),
                      "VAE/beta": beta, "VAE/elbo": elbo, "VAE/nll_bound_per_token": -elbo / per_window_tokens}
    assert isinstance(model, ARModel)
    nll = categorical_nll(model(tokens, style if model.conditional else None), tokens)
    loss = nll.mean()
    return loss, {"AR/loss": loss.item(), "AR/nll": loss.item(), "AR/nll_per_token": loss.item() / per_window_tokens}


def lr_at(step: int, cfg: BaselineConfig) -> float:
    """Learning rate of update ``step`` (0-based): a cosine from ``lr`` at the first update to ``lr * lr_final``
    at the last; constant when ``lr_final`` = 1."""
    if cfg.lr_final == 1.0 or cfg.steps <= 1:
        return cfg.lr
    progress = step / (cfg.steps - 1)
    return cfg.lr * (cfg.lr_final + (1 - cfg.lr_final) * 0.5 * (1 + math.cos(math.pi * progress)))


HELDOUT_WINDOWS = 2048  # val windows the final held-out loss is measured on (the first ones, no transposition)


@torch.no_grad()
def heldout_terms(model, cfg: BaselineConfig, data, batch_size: int = 256) -> dict:
    """The loss terms on the val split (mean over its first HELDOUT_WINDOWS windows), named ``heldout/<term>``:
    the training loss alone cannot tell learning from memorising. Empty when there is no val split."""
    val = data.splits.get("val")
    if val is None or len(val["rolls"]) == 0:
        return {}
    tokens = torch.from_numpy(val["rolls"][:HELDOUT_WINDOWS].astype(np.int64))
    style = torch.from_numpy(val["style"][:HELDOUT_WINDOWS].astype(np.int64))
    rng = torch.Generator().manual_seed(0)
    model.eval()
    sums: dict[str, float] = {}
    for a in range(0, len(tokens), batch_size):
        _, terms = loss_and_stats(model, cfg, cfg.steps, tokens[a : a + batch_size], style[a : a + batch_size], rng)
        n = len(tokens[a : a + batch_size])
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + v * n
    return {f"heldout/{k}": round(v / len(tokens), 5) for k, v in sums.items() if not k.endswith("/beta")}


def _model_tensors(prefix: str, module: torch.nn.Module, tensors: dict) -> None:
    for k, v in module.state_dict().items():
        tensors[f"{prefix}.{k}"] = v.detach().clone().contiguous()


def save_baseline_model(path: Path, model, cfg: BaselineConfig, meta: dict) -> None:
    """A model file in the trainer's format (safetensors, JSON header, atomic). The VAE's decoder is stored as
    ``G_ema`` with a TrainConfig-shaped ``config`` so GAN tooling samples it; its encoder goes under ``encoder``.
    The AR model goes under ``model``; ``header["baseline"]`` says which (see ``sample.model_kind``)."""
    tensors: dict[str, torch.Tensor] = {}
    if isinstance(model, VAE):
        _model_tensors("G_ema", model.decoder, tensors)
        _model_tensors("encoder", model.encoder, tensors)
        config = cfg.generator_config()
    else:
        _model_tensors("model", model, tensors)
        config = cfg.to_dict()
    header = dict(meta, config=config, baseline={"kind": cfg.kind, "config": cfg.to_dict()}, schema=SCHEMA,
                  kind=KIND_MODEL)
    write_file(path, header, tensors)


def _prepare_out(out: Path) -> None:
    if out.exists() and ((out / "config.json").exists() or (out / "model.safetensors").exists()):
        raise UserError(f"run dir {out} already holds a run; choose another --out")
    try:
        (out / "samples").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create run dir {out}: {e.strerror}") from None


def train_baseline(data_dir: str | Path, out: str | Path, cfg: BaselineConfig, progress: bool = True) -> dict:
    """Train a VAE or AR baseline on a prepared dataset into run dir ``out``; returns the final stats row."""
    cfg = cfg.validate()
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    out = Path(out)
    data = load_prepared(data_dir)
    if not data.manifest["monophonic"]:
        raise UserError(f"layout {data.manifest['layout']!r} is polyphonic; the baselines train monophonic layouts")
    summary = data_summary(data)
    _prepare_out(out)
    torch.manual_seed(cfg.seed)
    model = build_baseline(cfg, summary)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    rng = torch.Generator().manual_seed(cfg.seed * 1000)
    write_json_atomic(out / "config.json", cfg.to_dict())
    sampler = BatchSampler(data, cfg.batch_size, cfg.transpose, rng)
    stats = StatsLog(out)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, desc=f"train {cfg.kind}", unit="step", smoothing=0.05)
    model.train()
    t0 = t_log = time.perf_counter()
    row: dict = {}
    seen = 0
    for step in range(cfg.steps):
        lr = lr_at(step, cfg)
        for group in opt.param_groups:
            group["lr"] = lr
        tokens, style = sampler()
        loss, terms = loss_and_stats(model, cfg, step, tokens, style, rng)
        terms["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            terms["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip))
        opt.step()
        stats.add(terms)
        seen += cfg.batch_size
        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.steps:
            now = time.perf_counter()
            row = stats.flush(done, {"kimg": round(done * cfg.batch_size / 1000, 3), "seconds": round(now - t0, 1),
                                     "windows_per_s": round(seen / max(now - t_log, 1e-9), 1)})
            t_log, seen = now, 0
            if bar is not None:
                bar.set_postfix({k: f"{v:.3f}" for k, v in row.items() if k.endswith("/loss")})
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    stats.close()
    model.eval()
    elapsed = round(time.perf_counter() - t0, 1)
    heldout = heldout_terms(model, cfg, data)
    meta = {"data": summary, "data_dir": str(data_dir), "step": cfg.steps, "elapsed_s": elapsed,
            "final_stats": row, "heldout": heldout, "params": count_params(model)}
    save_baseline_model(out / "model.safetensors", model, cfg, meta)
    write_json_atomic(out / "summary.json", {k: v for k, v in meta.items() if k != "data"} | {
        "kind": cfg.kind, "config": cfg.to_dict(),
        "data": {k: v for k, v in summary.items() if k != "style_shares"}})
    if cfg.sample_count:
        _write_grid(out, cfg.sample_count)
    return row


def _write_grid(out: Path, count: int) -> None:
    from ..music.plot import write_grid_png
    from .sample import load_model

    sampler = load_model(out / "model.safetensors")
    write_grid_png(sampler.generate_pieces([(SAMPLE_SEED, i) for i in range(count)]), out / "samples" / "final.png")
