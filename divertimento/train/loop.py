"""The one trainer for every family: run dir, frozen config, stats and TensorBoard, sample grids from fixed seeds,
checkpoints with complete state, exact resume and torchrun. What one step does is the family's recipe."""

import json
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ..atomic import write_json_atomic
from ..config import TrainConfig, config_from_dict
from ..data.dataset import load_prepared
from ..data.modes import mode_summary
from ..data.summary import data_summary, shape_mismatch
from ..errors import UserError
from ..models.factory import resolve_model_path
from ..models.files import (
    checkpoint_name,
    latest_checkpoint,
    list_checkpoints,
    module_state,
    read_file,
)
from ..models.generator import count_params
from ..models.sequence import MODE_TABLE, SOUNDING_TABLES
from ..models.widen import widen_state
from ..music.plot import write_grid_png
from ..music.write import write_midi
from ..sample.fingerprint import TENSOR as FINGERPRINT
from ..sample.fingerprint import fingerprint_of
from ..sample.sampler import Sampler
from .batches import BatchSampler
from .checkpoint import load_training_state, save_model, save_training_checkpoint
from .distributed import DistInfo, broadcast_module, in_sync, init_from_env, shutdown
from .recipes import make_recipe
from .schedule import lr_at, set_lr
from .stats import StatsLog
from .stop import StopOnSignal

SAMPLE_SEED = 2024  # the fixed seeds of the progress grids: (SAMPLE_SEED, i)


def _prepare_run_dir(out: Path, resume: bool, info: DistInfo) -> Path | None:
    """Returns the checkpoint to resume from, if any."""
    ckpt = latest_checkpoint(out) if out.exists() else None
    if resume:
        if ckpt is None:
            raise UserError(f"--resume: no checkpoint in {out}")
        if info.main:  # temp files of writes a kill cut short (atomic writes leave .NAME.XXXX.tmp behind)
            for leftover in [*out.glob(".*.tmp"), *(out / "checkpoints").glob(".*.tmp")]:
                leftover.unlink(missing_ok=True)
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


def _init_weights(source: str, summary: dict, recipe, cfg: TrainConfig) -> dict:
    """Start the recipe's trained modules from another run, checkpoint or model file of the same family and data
    shape (fine-tuning); modules the source lacks (a critic, an encoder) keep their fresh weights. With
    ``cfg.init_widen`` a sequence model of a smaller hidden size starts this wider one (``models/widen.py``).
    Returns the source's header."""
    path = Path(source)
    # a run dir: its newest checkpoint (it holds every trained module), else its model file
    ckpt = (latest_checkpoint(path) or resolve_model_path(path)) if path.is_dir() else resolve_model_path(source)
    header, tensors = read_file(ckpt)
    if header.get("family") != cfg.family:
        raise UserError(f"init_from: {ckpt} is a {header.get('family')} model; this run trains {cfg.family}")
    mismatch = shape_mismatch(header["data"], summary)
    if mismatch:
        raise UserError(f"init_from: {ckpt} was trained on data of another shape ({mismatch})")
    try:
        for name, module in recipe.trained.items():
            state = module_state(tensors, recipe.init_sources[name])
            if state and name == "model":
                state = _with_new_tables(state, module, header)
            if state and cfg.init_widen and name == "model":  # the sampled model grows; a critic keeps its size
                state = _widened(state, module, header, cfg)
            if state:  # a module the source run did not have (a VAE-GAN encoder) keeps its fresh weights
                module.load_state_dict(state)
    except RuntimeError as e:
        raise UserError(f"init_from: {ckpt} has another architecture ({str(e).splitlines()[0][:80]})") from None
    return header


def _with_new_tables(state: dict, module, header: dict) -> dict:
    """A sequence model without ``sounding_context`` (or a mode condition) computes what the same model with zero
    sounding tables (or zero mode vectors) computes: a run that adds them starts from the source with its tables at
    zero (the sounding tables at the source's width, so that ``init_widen`` grows them like any other table)."""
    fresh = module.state_dict()
    hidden = int(header["config"].get("hidden", 0))
    missing = [k for k in SOUNDING_TABLES if k in fresh and k not in state]
    state = state | {k: torch.zeros(fresh[k].shape[0], hidden) for k in missing}
    if MODE_TABLE in fresh and MODE_TABLE not in state:  # every mode starts as the source
        state = state | {MODE_TABLE: torch.zeros_like(fresh[MODE_TABLE])}
    return state


def _widened(state: dict, module, header: dict, cfg: TrainConfig) -> dict:
    if cfg.family != "mle":
        raise UserError(f"init_widen: only a sequence model (family mle) can be widened, not {cfg.family}")
    old_hidden = int(header["config"]["hidden"])
    if old_hidden == cfg.hidden:
        return state
    return widen_state(state, module, old_hidden, cfg.hidden)


def _write_samples(sampler: Sampler, out: Path, step: int, count: int) -> None:
    """A grid of pieces from fixed seeds, drawn in eval mode (no dropout: nothing touches torch's global random
    stream, so a run with grids at other steps resumes to the same weights)."""
    was_training = sampler.module.training
    sampler.module.eval()
    pieces = sampler.generate_pieces([(SAMPLE_SEED, i) for i in range(count)])
    sampler.module.train(was_training)
    folder = out / "samples" / f"step-{step:08d}"
    folder.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(pieces):
        write_midi(p, folder / f"{i:02d}-{p.meta['style']}.mid")
    write_grid_png(pieces, out / "samples" / f"step-{step:08d}.png")


def train(data_dir: str | Path, out: str | Path, cfg: TrainConfig, resume: bool = False,
          progress: bool = True, new_budget: bool = True) -> dict:
    """Train the family ``cfg.family`` on a prepared dataset into run dir ``out``; returns the final stats row.
    A resumed run continues its frozen config; with ``new_budget`` its step budget becomes ``cfg.steps``."""
    info = init_from_env()
    out = Path(out)
    try:
        return _train(data_dir, out, cfg, resume, progress, info, new_budget)
    finally:
        shutdown(info)


def _frozen_config(ckpt: Path, summary: dict, cfg: TrainConfig, new_budget: bool) -> TrainConfig:
    """A resumed run keeps the config it started with; only its step budget may grow, when asked."""
    old, _ = read_file(ckpt)
    if old["data"]["content_hash"] != summary["content_hash"]:
        raise UserError(f"{ckpt} was trained on other data (content hash differs); resume with its --data")
    return config_from_dict(dict(old["config"], steps=cfg.steps if new_budget else old["config"]["steps"]))


def _train(data_dir, out: Path, cfg: TrainConfig, resume: bool, progress: bool, info: DistInfo,
           new_budget: bool = True) -> dict:
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    data = load_prepared(data_dir)
    summary = data_summary(data)
    ckpt = _prepare_run_dir(out, resume, info)
    if ckpt is not None:
        cfg = _frozen_config(ckpt, summary, cfg, new_budget)
    if cfg.mode_condition:  # the run's own config: a resumed run told the mode is told it again
        summary |= mode_summary(data)
    torch.manual_seed(cfg.seed)
    rng = torch.Generator().manual_seed(cfg.seed * 1000 + info.rank)
    recipe = make_recipe(cfg, summary, rng, info)
    inherited = {}
    if cfg.init_from and ckpt is None:
        # a fine-tuned model is sampled as its start was, unless its recipe says otherwise
        source = _init_weights(cfg.init_from, summary, recipe, cfg)
        inherited = {"sampling": source["sampling"]} if "sampling" in source else {}
    for module in recipe.trained.values():
        broadcast_module(module, info)
    recipe.start()
    # the batch sampler draws nothing when built: building it before the checkpoint's RNG state is restored is safe
    batches = BatchSampler(data, cfg.batch_size, cfg.transpose, rng, info.rank, info.world, cfg.key_normalise,
                           cfg.style_balance, cfg.mode_condition)
    if batches.home_shares is not None:  # every checkpoint and model file remembers where its keys go back to
        summary["key_home_shares"] = batches.home_shares
    header = {"family": cfg.family, "config": cfg.to_dict(), "data": summary, "data_dir": str(data_dir),
              **inherited, **recipe.extra_header}
    if "sampling" in inherited and "sampling" in recipe.extra_header:  # the recipe's own recommendations win, the
        header["sampling"] = {**inherited["sampling"], **recipe.extra_header["sampling"]}  # rest are kept
    start_step, elapsed_before = 0, 0.0
    if ckpt is not None:
        old = load_training_state(ckpt, modules=recipe.modules(), optimizers=recipe.optimizers(), rng=rng)
        start_step, elapsed_before = old["step"], old.get("elapsed_s", 0.0)
        if "sampling" in old:  # what the run recorded when it started (inherited from its init_from)
            header["sampling"] = old["sampling"]
        if info.world > 1:  # each rank resumes its own noise stream, derived from the saved one
            rng.manual_seed(int(torch.randint(2**62, (1,), generator=rng)) + info.rank)
    if info.main:
        write_json_atomic(out / "config.json", cfg.to_dict())
    sampler = Sampler(recipe.model_modules()["model"], header, out)
    stats = StatsLog(out, enabled=info.main, resume_step=start_step if ckpt is not None else None)
    bar = None
    if progress and info.main:
        bar = tqdm(total=cfg.steps, initial=start_step, desc=f"train {cfg.family}", unit="step", smoothing=0.05)
    t0, t_log, windows_since = time.perf_counter(), time.perf_counter(), 0
    row: dict = dict(stats.last_row)  # a run resumed at its last step has nothing left to log

    def checkpoint(step: int) -> None:
        if not info.main:
            return
        meta = dict(header, elapsed_s=round(elapsed_before + time.perf_counter() - t0, 1),
                    model_modules=list(recipe.model_modules()))
        save_training_checkpoint(out / "checkpoints" / checkpoint_name(step), modules=recipe.modules(),
                                 optimizers=recipe.optimizers(), rng=rng, step=step, meta=meta)
        for old_ckpt in list_checkpoints(out)[: -cfg.keep_ckpts]:
            old_ckpt.unlink(missing_ok=True)

    with StopOnSignal(enabled=info.world == 1) as stop:
        for step in range(start_step, cfg.steps):
            lr = lr_at(step, cfg)
            set_lr(recipe.sampled_optimizer, lr)
            recipe.step(step, batches, stats)
            stats.add({"lr": lr})
            windows_since += recipe.windows_per_step
            done = step + 1
            if done % cfg.log_every == 0 or done == cfg.steps:
                now = time.perf_counter()
                row = stats.flush(done, {"kimg": round(done * cfg.batch_size * info.world / 1000, 3),
                                         "seconds": round(elapsed_before + now - t0, 1),
                                         "windows_per_s": round(windows_since / (now - t_log), 1)})
                t_log, windows_since = now, 0
                if bar is not None:
                    bar.set_postfix({k: f"{v:.3f}" for k, v in row.items() if k.endswith("/loss")}
                                    | {"win/s": row["windows_per_s"]})
            if info.main and cfg.sample_count and (done % cfg.sample_every == 0 or done == cfg.steps):
                _write_samples(sampler, out, done, cfg.sample_count)
            if done % cfg.ckpt_every == 0 or done == cfg.steps:
                checkpoint(done)
            if bar is not None:
                bar.update(1)
            if stop.requested:  # Ctrl-C or SIGTERM: a complete checkpoint of this step, then the signal's status
                if done % cfg.ckpt_every and done != cfg.steps:
                    checkpoint(done)
                if bar is not None:
                    bar.close()
                stats.close()
                stop.stop(f"stopped at step {done}; checkpoint written to {out / 'checkpoints'}; "
                          "train --resume continues")
    if bar is not None:
        bar.close()
    synced = in_sync(list(recipe.trained.values()), info)  # collective: every rank takes part
    if info.main:
        model_modules = recipe.model_modules()
        meta = dict(header, step=cfg.steps, elapsed_s=round(elapsed_before + time.perf_counter() - t0, 1),
                    final_stats=row, heldout=recipe.finish(data), params=count_params(model_modules["model"]),
                    processes=info.world, processes_in_sync=synced)
        save_model(out / "model.safetensors", model_modules, meta, {FINGERPRINT: fingerprint_of(data)})
        write_json_atomic(out / "summary.json", {k: v for k, v in meta.items() if k != "data"} | {
            "data": {k: v for k, v in summary.items() if k != "style_shares"}})
    stats.close()
    return row


def read_stats(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "stats.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
