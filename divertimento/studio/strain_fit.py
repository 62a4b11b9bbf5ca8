"""``train`` for a config of family ``strains``: a model file's strain forms and critic (studio/strains.py), fitted on
top of a trained sequence model, whose weights are copied untouched.

Per style named and meter with enough pieces in the training split:
- real strains: each piece's first ``STRAIN_BARS`` bars (stitched from its windows);
- forms: the shares of the real strains' exact 1-bar cell patterns (``strain_figures.form_shares``);
- the model's strains: pieces drawn exactly as the studio proposes them (AABB, 8-bar strains, pickups, final
  cadence; each strain in a form drawn by the shares, one candidate), both strains of each, as many as the real;
- the critic: a logistic regression of real against the model's strains on standardised strain figures, its
  5-fold cross-validated accuracy kept as a figure (0.5: it cannot tell them apart), its log ratio scaled to be
  calibrated on the folds' held-out strains (``calibrate``; the scale kept as a figure).

The fit draws from fixed seeds, so the same config on the same data and model writes the same file."""

import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..data.dataset import load_prepared
from ..data.openings import stitched_stretches
from ..errors import UserError
from ..models.factory import SHIPPED, load_module, resolve_model_path
from ..models.files import KIND_MODEL, read_file, write_file
from ..sample.fingerprint import TENSOR as FINGERPRINT
from ..sample.sampler import Sampler
from .engine import Engine
from .forms import compose_many
from .strain_figures import STRAIN_BARS, feature_count, form_shares, strain_features
from .strains import MAX_BETA, MAX_CANDIDATES, StrainCritic, StrainRow, Strains

PIECE_FORM = "AABB"  # how the studio draws a reel or jig (studio/whole.py STYLE_FORMS)


@dataclass
class StrainConfig:
    family: str = "strains"
    base_model: str = ""  # the sequence model whose strains are chosen: a shipped name, model file or run dir
    styles: list[str] = field(default_factory=list)  # styles whose strains are chosen (their form is AABB)
    candidates: int = 4  # K strains per piece the studio draws and the critic chooses among
    beta: float = 1.0  # the critic's weights (D / (1 - D))^beta
    min_pieces: int = 100  # a (style, meter) with fewer training pieces gets no critic (its strains stay as drawn)
    max_pieces: int = 300  # at most this many real strains (and as many of the model's) per (style, meter)
    c: float = 1.0  # the logistic regression's inverse regularisation
    # the critic's log ratio scaled to be calibrated on held-out folds (Platt scaling of its out-of-fold scores), so
    # that beta 1 resamples by the density ratio it can vouch for, not by an overconfident one
    calibrate: bool = True
    seed: int = 0

    def validate(self) -> "StrainConfig":
        if self.family != "strains":
            raise UserError(f"a strain fit has family strains (got {self.family!r})")
        if not self.base_model or not self.styles:
            raise UserError("a strain fit needs base_model (a sequence model) and styles (those whose strains it "
                            "chooses)")
        if not 1 <= self.candidates <= MAX_CANDIDATES or not 0 <= self.beta <= MAX_BETA:
            raise UserError(f"candidates must be 1..{MAX_CANDIDATES} and beta 0..{MAX_BETA:g}")
        if not 5 <= self.min_pieces <= self.max_pieces or self.c <= 0:
            raise UserError("min_pieces must be 5 or more (the critic is cross-validated in 5 folds) and at most "
                            "max_pieces; c above 0")
        return self


def strain_config(values: dict, overrides: dict) -> StrainConfig:
    """The config from a config file's values and --set overrides; one clear line for an unknown key."""
    known = {f.name: f for f in fields(StrainConfig)}
    merged = {**values, **overrides}
    unknown = sorted(set(merged) - set(known))
    if unknown:
        raise UserError(f"unknown strain config key(s) {', '.join(unknown)}; known: {', '.join(known)}")
    try:
        cfg = StrainConfig(**{k: _typed(known[k].type, v) for k, v in merged.items()})
    except (TypeError, ValueError) as e:
        raise UserError(f"strain config: {e}") from None
    return cfg.validate()


def _typed(kind, value):
    if kind in ("int", int):
        if isinstance(value, bool) or not float(value).is_integer():
            raise ValueError(f"a whole number is needed (got {value!r})")
        return int(float(value))
    if kind in ("float", float):
        return float(value)
    if kind in ("bool", bool):
        if not isinstance(value, bool) and str(value).lower() not in ("true", "false"):
            raise ValueError(f"true or false is needed (got {value!r})")
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind in ("list[str]",) and isinstance(value, str):
        return [s.strip() for s in value.split(",") if s.strip()]
    return value


def fit_strains(data_dir: str | Path, out_dir: str | Path, cfg: StrainConfig, log=print) -> dict:
    """Fit the strains of ``cfg.base_model`` on ``data_dir``'s training split and write the model file with them at
    ``out_dir``/model.safetensors. Returns the strains as the file carries them."""
    t0 = time.perf_counter()
    data = load_prepared(data_dir)
    path = resolve_model_path(cfg.base_model)
    header, tensors = read_file(path)
    if header["kind"] != KIND_MODEL:
        raise UserError(f"base_model {path} is a checkpoint; export it to a model file first (divertimento export)")
    if data.manifest["content_hash"] != header["data"].get("content_hash"):
        raise UserError(f"{data_dir} is not the data {path.name} was trained on (content hash differs)")
    header = {k: v for k, v in header.items() if k != "strains"}  # fitted afresh: the proposals carry none
    # refuses a model that cannot be sampled bar by bar
    engine = Engine(Sampler(load_module(header, tensors, path), header, path, tensors.get(FINGERPRINT)))
    unknown = [s for s in cfg.styles if s not in engine.style_names]
    if unknown:
        raise UserError(f"unknown style(s) {', '.join(unknown)}; {path.name} knows {', '.join(engine.style_names)}")
    real = stitched_stretches(data, "train", STRAIN_BARS, engine.bar_of)
    rows: dict[str, dict[str, StrainRow]] = {}
    for (s, m), strains in sorted(real.items()):
        style, meter = engine.style_names[s], engine.sampler.meter_names[m]
        if style not in cfg.styles or len(strains) < cfg.min_pieces:
            continue
        seed = cfg.seed * 1000 + 10 * s + m  # the real strains' order and the proposals' pairs
        strains = [strains[i] for i in np.random.default_rng(seed).permutation(len(strains))[: cfg.max_pieces]]
        bar = engine.bar_of(m)
        shares = form_shares(strains, bar)
        made = _proposals(engine, style, meter, bar, shares, len(strains), seed)
        critic, accuracy, scale = _fit_critic(strains, made, bar, cfg)
        figures = {"real_strains": len(strains), "model_strains": len(made), "critic_accuracy": accuracy,
                   "calibration_scale": round(scale, 3)}
        rows.setdefault(style, {})[meter] = StrainRow(shares, critic, figures)
        log(f"strains {style} {meter}: {json.dumps(figures)}")
    if not rows:
        raise UserError(f"no (style, meter) of {', '.join(cfg.styles)} has {cfg.min_pieces} training pieces or "
                        "more: nothing to fit")
    strains_json = Strains(rows, cfg.candidates, cfg.beta).to_json()
    strains_json["fit"] = {"config": asdict(cfg), "seconds": round(time.perf_counter() - t0, 1),
                           "base": cfg.base_model if cfg.base_model in SHIPPED else str(path)}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_file(out / "model.safetensors", dict(header, strains=strains_json), tensors)
    return strains_json


def _proposals(engine: Engine, style: str, meter: str, bar: int, shares: dict[str, float], n: int,
               seed: int) -> list[np.ndarray]:
    """``n`` of the model's strains as the studio proposes them: both strains of n / 2 AABB pieces, each strain in
    a form drawn by ``shares`` (one candidate, no critic)."""
    zeros = np.zeros(feature_count())
    proposal = StrainRow(shares, StrainCritic(zeros, np.ones_like(zeros), zeros, 0.0), {})
    engine.strains = Strains({style: {meter: proposal}}, candidates=1, beta=0.0)
    pieces = compose_many(engine, [(seed, i) for i in range(-(-n // 2))], style, bars=4 * STRAIN_BARS,
                          form=PIECE_FORM, meter=meter, section_bars=STRAIN_BARS, pickups=True, strains=True)
    size = STRAIN_BARS * bar
    out = []
    for p in pieces:
        body = p.tokens.astype(np.int64)[:, p.meta.get("pickup_steps", 0):]  # from the first full bar
        out += [body[:, : size], body[:, 2 * size : 3 * size]]
    return out[:n]


def _fit_critic(real: list[np.ndarray], made: list[np.ndarray], bar: int,
                cfg: StrainConfig) -> tuple[StrainCritic, float, float]:
    """The critic, its 5-fold accuracy, and the scale its log ratio was calibrated by (1: not calibrated)."""
    x = np.stack([strain_features(t, bar) for t in real + made])
    y = np.r_[np.ones(len(real)), np.zeros(len(made))]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=cfg.c, max_iter=5000))
    folds = StratifiedKFold(5, shuffle=True, random_state=cfg.seed)
    accuracy = round(float(cross_val_score(model, x, y, cv=folds).mean()), 3)
    scale, shift = 1.0, 0.0
    if cfg.calibrate:  # log ratio -> scale * log ratio + shift, fitted on the folds' held-out scores
        held_out = cross_val_predict(model, x, y, cv=folds, method="decision_function")
        platt = LogisticRegression(C=1e6, tol=1e-10, max_iter=10000).fit(held_out[:, None], y)
        scale, shift = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    model.fit(x, y)
    scaler, logistic = model.steps[0][1], model.steps[1][1]
    critic = StrainCritic(scaler.mean_, scaler.scale_, scale * logistic.coef_[0],
                          scale * float(logistic.intercept_[0]) + shift)
    return critic, accuracy, scale

