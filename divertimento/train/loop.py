"""The training loop: D phase(s), optional lazy R1, G phase, EMA, stats, samples, checkpoints; exact resume."""

import json
import time
from pathlib import Path

import numpy as np
import torch

from ..atomic import write_json_atomic
from ..config import TrainConfig, config_from_dict
from ..data.dataset import PreparedData, load_prepared
from ..errors import UserError
from ..losses.gan_loss import GANLoss
from ..models.discriminator import Discriminator
from ..music.roll import FIRST_PITCH_TOKEN
from ..sample.model import GeneratorBundle, build_generator
from .batches import BatchSampler
from .checkpoint import (
    checkpoint_name,
    latest_checkpoint,
    list_checkpoints,
    load_training_state,
    save_model,
    save_training_checkpoint,
)
from .distributed import DistInfo, average_gradients, broadcast_module, in_sync, init_from_env, shutdown
from .ema import ema_beta, make_ema, update_ema
from .stats import StatsLog

SAMPLE_SEED = 2024  # the fixed seeds of the progress grids: (SAMPLE_SEED, i)


def data_summary(data: PreparedData) -> dict:
    """What a model must remember of its data to generate and to refuse mismatched checkpoints."""
    m = data.manifest
    train = data.splits["train"]
    counts = np.bincount(train["style"], minlength=len(m["style_names"]))
    # per style and voice, the share of training windows in which the voice plays a note
    plays = (train["rolls"] >= FIRST_PITCH_TOKEN).any(-1).astype(np.float64)  # [N, V]
    voice_use = np.stack([plays[train["style"] == s].mean(0) if counts[s] else np.ones(plays.shape[1])
                          for s in range(len(counts))])
    return {
        "layout": m["layout"], "roles": m["roles"], "monophonic": m["monophonic"],
        "steps_per_quarter": m["steps_per_quarter"], "window_steps": m["window_steps"],
        "pitch_range": m["pitch_range"], "vocab_size": m["vocab_size"], "style_names": m["style_names"],
        "style_shares": (counts / max(counts.sum(), 1)).round(6).tolist(), "meters": m["meters"],
        "content_hash": m["content_hash"], "train_windows": int(counts.sum()),
        "voice_use": voice_use.round(4).tolist(),
    }


def build_discriminator(cfg: TrainConfig, data: dict) -> Discriminator:
    return Discriminator(
        n_voices=len(data["roles"]), vocab_size=data["vocab_size"], n_steps=data["window_steps"],
        n_styles=len(data["style_names"]), channels=cfg.d_channels, conditional=cfg.conditional,
        mbstd_group=cfg.mbstd_group, pack=cfg.pack, use_spectral_norm=cfg.spectral_norm,
        pitch_low=data["pitch_range"][0],
    )


def build_encoder(cfg: TrainConfig, data: dict):
    """The VAE-GAN encoder, only when recon_weight > 0."""
    if cfg.recon_weight <= 0:
        return None
    from ..baselines.vae import Encoder

    return Encoder(n_voices=len(data["roles"]), vocab_size=data["vocab_size"], n_steps=data["window_steps"],
                   z_dim=cfg.z_dim, n_styles=len(data["style_names"]), style_dim=cfg.style_dim,
                   channels=cfg.d_channels, conditional=cfg.conditional, pitch_low=data["pitch_range"][0])


def make_optimizers(cfg: TrainConfig, G, D, E=None):
    # lazy R1 (stylegan2): D's lr and betas scaled by c = N / (N + 1) so the regularised optimiser is unchanged
    c = cfg.r1_interval / (cfg.r1_interval + 1) if cfg.r1_gamma > 0 else 1.0
    g_params = list(G.parameters()) + (list(E.parameters()) if E is not None else [])
    opt_G = torch.optim.Adam(g_params, lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
    opt_D = torch.optim.Adam(D.parameters(), lr=cfg.lr_d * c, betas=(cfg.beta1**c, cfg.beta2**c))
    return opt_G, opt_D


def _prepare_run_dir(out: Path, cfg: TrainConfig, resume: bool, info: DistInfo) -> Path | None:
    """Returns the checkpoint to resume from, if any."""
    ckpt = latest_checkpoint(out) if out.exists() else None
    if resume:
        if ckpt is None:
            raise UserError(f"--resume: no checkpoint in {out}")
        return ckpt
    if out.exists() and (ckpt is not None or (out / "config.json").exists()):
        raise UserError(f"run dir {out} already holds a run; pass --resume to continue it or choose another --out")
    if info.main:
        try:
            (out / "checkpoints").mkdir(parents=True, exist_ok=True)
            (out / "samples").mkdir(exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot create run dir {out}: {e.strerror}") from None
    return None


def _init_weights(source: str, summary: dict, G, D, E=None) -> None:
    """Start from another run's G, D and G_ema (G_ema is copied from G by make_ema, so G takes G_ema's weights:
    the smoothed generator is the better starting point), and its VAE-GAN encoder when both runs have one."""
    from .checkpoint import module_state, read_file

    path = Path(source)
    ckpt = latest_checkpoint(path) if path.is_dir() else path
    if ckpt is None:
        raise UserError(f"init_from: no checkpoint in {source}")
    header, tensors = read_file(ckpt)
    if header.get("kind") != "divertimento-checkpoint":
        raise UserError(f"init_from: {ckpt} is not a training checkpoint")
    if header["data"]["content_hash"] != summary["content_hash"]:
        raise UserError(f"init_from: {ckpt} was trained on other data")
    try:
        G.load_state_dict(module_state(tensors, "G_ema"))
        D.load_state_dict(module_state(tensors, "D"))
        if E is not None and any(k.startswith("E.") for k in tensors):
            E.load_state_dict(module_state(tensors, "E"))
    except RuntimeError as e:
        raise UserError(f"init_from: {ckpt} has another architecture ({str(e).splitlines()[0][:80]})") from None


def _write_samples(G_ema, header: dict, out: Path, step: int, count: int) -> None:
    from ..music.plot import write_grid_png
    from ..music.write import write_midi
    from ..sample.generate import generate_pieces

    bundle = GeneratorBundle(G_ema, header, out)
    pieces = generate_pieces(bundle, [(SAMPLE_SEED, i) for i in range(count)])
    folder = out / "samples" / f"step-{step:08d}"
    folder.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(pieces):
        write_midi(p, folder / f"{i:02d}-{p.meta['style']}.mid")
    write_grid_png(pieces, out / "samples" / f"step-{step:08d}.png")


def train(data_dir: str | Path, out: str | Path, cfg: TrainConfig, resume: bool = False,
          progress: bool = True) -> dict:
    """Train on a prepared dataset into run dir ``out``; returns the final stats row."""
    info = init_from_env()
    out = Path(out)
    try:
        return _train(data_dir, out, cfg, resume, progress, info)
    finally:
        shutdown(info)


def _train(data_dir, out: Path, cfg: TrainConfig, resume: bool, progress: bool, info: DistInfo) -> dict:
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    data = load_prepared(data_dir)
    if not data.manifest["monophonic"]:
        raise UserError(f"layout {data.manifest['layout']!r} is polyphonic; the GAN trains monophonic layouts (satb)")
    summary = data_summary(data)
    ckpt = _prepare_run_dir(out, cfg, resume, info)
    if ckpt is not None:
        from .checkpoint import read_file

        old, _ = read_file(ckpt)
        if old["data"]["content_hash"] != summary["content_hash"]:
            raise UserError(f"{ckpt} was trained on other data (content hash differs); resume with its --data")
        frozen = dict(old["config"], steps=cfg.steps)  # a resumed run may only extend its step budget
        cfg = config_from_dict(frozen)
    torch.manual_seed(cfg.seed)
    G = build_generator(cfg.to_dict(), summary)
    D = build_discriminator(cfg, summary)
    E = build_encoder(cfg, summary)
    if cfg.init_from and ckpt is None:
        _init_weights(cfg.init_from, summary, G, D, E)
    for module in (G, D, E):
        if module is not None:
            broadcast_module(module, info)
    G_ema = make_ema(G)
    opt_G, opt_D = make_optimizers(cfg, G, D, E)
    extra = {"E": E} if E is not None else {}
    rng = torch.Generator().manual_seed(cfg.seed * 1000 + info.rank)
    # the sampler draws nothing when built: building it before the checkpoint's RNG state is restored is safe
    sampler = BatchSampler(data, cfg.batch_size, cfg.transpose, rng, info.rank, info.world, cfg.key_normalise)
    if sampler.home_shares is not None:  # every checkpoint and model file remembers where its keys go back to
        summary["key_home_shares"] = sampler.home_shares
    header = {"config": cfg.to_dict(), "data": summary, "data_dir": str(data_dir)}
    start_step, elapsed_before = 0, 0.0
    if ckpt is not None:
        old = load_training_state(ckpt, G=G, D=D, G_ema=G_ema, opt_G=opt_G, opt_D=opt_D, rng=rng, extra=extra)
        start_step, elapsed_before = old["step"], old.get("elapsed_s", 0.0)
        if info.world > 1:  # each rank resumes its own noise stream, derived from the saved one
            rng.manual_seed(int(torch.randint(2**62, (1,), generator=rng)) + info.rank)
    if info.main:
        write_json_atomic(out / "config.json", cfg.to_dict())
    loss = GANLoss(G, D, cfg, summary["vocab_size"], rng, E)
    beta = ema_beta(cfg.batch_size * info.world, cfg.ema_kimg)
    stats = StatsLog(out, enabled=info.main)
    bar = None
    if progress and info.main:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, initial=start_step, desc="train", unit="step", smoothing=0.05)
    t0, t_log, samples_since = time.perf_counter(), time.perf_counter(), 0
    row: dict = {}

    def checkpoint(step: int) -> None:
        if not info.main:
            return
        meta = dict(header, elapsed_s=round(elapsed_before + time.perf_counter() - t0, 1))
        save_training_checkpoint(out / "checkpoints" / checkpoint_name(step), G=G, D=D, G_ema=G_ema,
                                 opt_G=opt_G, opt_D=opt_D, rng=rng, step=step, meta=meta, extra=extra)
        for old_ckpt in list_checkpoints(out)[: -cfg.keep_ckpts]:
            old_ckpt.unlink(missing_ok=True)

    for step in range(start_step, cfg.steps):
        # D phase(s)
        D.requires_grad_(True)
        for k in range(cfg.d_steps):
            real, style = sampler()
            d_loss, d_stats = loss.dmain(real, style)
            opt_D.zero_grad(set_to_none=True)
            d_loss.backward()
            average_gradients(D, info)
            opt_D.step()
            stats.add(d_stats)
            if cfg.r1_gamma > 0 and (step * cfg.d_steps + k) % cfg.r1_interval == 0:
                r_loss, r_stats = loss.dreg(real, style)
                opt_D.zero_grad(set_to_none=True)
                r_loss.backward()
                average_gradients(D, info)
                opt_D.step()
                stats.add(r_stats)
        # G phase: styles drawn like the data's, so conditional G learns every style in proportion
        real, style = sampler()
        D.requires_grad_(False)
        g_loss, g_stats = loss.gmain(style, real)
        opt_G.zero_grad(set_to_none=True)
        g_loss.backward()
        average_gradients(G, info)
        if E is not None:
            average_gradients(E, info)
        opt_G.step()
        stats.add(g_stats)
        update_ema(G_ema, G, beta)
        samples_since += cfg.batch_size * (cfg.d_steps + 1) * info.world
        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.steps:
            now = time.perf_counter()
            row = stats.flush(done, {"kimg": round(done * cfg.batch_size * info.world / 1000, 3),
                                     "seconds": round(elapsed_before + now - t0, 1),
                                     "windows_per_s": round(samples_since / (now - t_log), 1)})
            t_log, samples_since = now, 0
            if bar is not None:
                bar.set_postfix({k: f"{row[k]:.3f}" for k in ("D/loss", "G/loss") if k in row}
                                | {"win/s": row["windows_per_s"]})
        if info.main and (done % cfg.sample_every == 0 or done == cfg.steps):
            _write_samples(G_ema, header, out, done, cfg.sample_count)
        if done % cfg.ckpt_every == 0 or done == cfg.steps:
            checkpoint(done)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    synced = in_sync([G, D], info)  # collective: every rank takes part
    if info.main:
        meta = dict(header, step=cfg.steps, elapsed_s=round(elapsed_before + time.perf_counter() - t0, 1),
                    final_stats=row, processes=info.world, processes_in_sync=synced)
        save_model(out / "model.safetensors", G_ema, meta)
        write_json_atomic(out / "summary.json", {k: v for k, v in meta.items() if k != "data"} | {
            "data": {k: v for k, v in summary.items() if k != "style_shares"}})
    stats.close()
    return row


def read_stats(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "stats.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
