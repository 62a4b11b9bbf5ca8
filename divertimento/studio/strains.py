"""Strains whose phrase structure a critic chooses: a reel's or jig's 8-bar strain is drawn as K candidates, each in
a form drawn by the real strains' own shares of bar-level forms (ABCDABEF: bars 1-2 heard again as bars 5-6, note
for note), and one is kept with probability proportional to (D / (1 - D))^beta, D a critic's probability that the
strain is real (discriminator rejection sampling, as ``models/guided.py`` does for windows). beta = 0 keeps a
uniformly chosen candidate: one strain in a form drawn by the shares.

Why: a window model reads 4 bars and writes eight different bars in a strain, where real tunes return. The critic
reads only how a strain's bars relate (``strain_figures.py``), a relation no 4-bar window holds. Against the same
K candidates reranked by the model's own likelihood, its choices are nearer real strains (docs/adversarial.md,
round 27).

A model file carries, per style and meter, the form shares and the critic as plain numbers (a logistic regression on
standardised figures: no code, no pickle), fitted by ``train`` (studio/strain_fit.py) under the header's
``strains``."""

from dataclasses import dataclass, replace

import numpy as np
import torch

from ..errors import UserError
from ..losses.likelihood import categorical_nll
from ..models.guided import resample_choice
from ..sample.draw import gumbel_noise
from .strain_figures import STRAIN_BARS, feature_count, strain_features

STRAIN_USE = 10  # the rng path (rng_for(seed, index, STRAIN_USE, ...)) of a piece's strain forms and choice
MAX_CANDIDATES = 16
MAX_BETA = 100.0
OPTIONS = ("strain_candidates", "strain_beta", "strain_rerank")  # what --option may set of the file's strains
RERANKS = ("critic", "likelihood")  # likelihood: the control, the same K candidates by the model's own likelihood


@dataclass(frozen=True)
class StrainCritic:
    """log D / (1 - D) = intercept + ((x - mean) / scale) . coef, x a strain's figures."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def log_ratio(self, features: np.ndarray) -> np.ndarray:
        """[n] for figures [n, d]."""
        return self.intercept + ((np.asarray(features, dtype=float) - self.mean) / self.scale) @ self.coef

    def to_json(self) -> dict:
        return {"mean": _rounded(self.mean), "scale": _rounded(self.scale), "coef": _rounded(self.coef),
                "intercept": round(float(self.intercept), 6)}


@dataclass(frozen=True)
class StrainRow:
    """A style and meter's strains: the real strains' form shares (1-bar cells) and the critic."""

    forms: dict[str, float]
    critic: StrainCritic
    figures: dict  # how the row was fitted: real openings, critic accuracy

    def draw_form(self, u: float) -> str:
        """The form whose share interval holds u in [0, 1)."""
        acc = 0.0
        total = sum(self.forms.values())
        for form, share in self.forms.items():
            acc += share / total
            if u < acc:
                return form
        return next(reversed(self.forms))


@dataclass(frozen=True)
class Strains:
    rows: dict[str, dict[str, StrainRow]]  # style -> meter -> row
    candidates: int
    beta: float
    rerank: str = "critic"

    def row(self, style: str, meter: str) -> StrainRow | None:
        return self.rows.get(style, {}).get(meter) if self.candidates else None

    def with_options(self, options: dict) -> "Strains":
        """The file's strains with ``strain_candidates`` (0: none, the strains through-composed; 1: one form drawn
        by the shares), ``strain_beta`` and ``strain_rerank`` from ``options``; one clear error for a value out of
        range."""
        k, beta = options.get("strain_candidates", self.candidates), options.get("strain_beta", self.beta)
        try:
            k_f, beta_f = float(k), float(beta)
            k_int = int(k_f) if k_f.is_integer() and not isinstance(k, bool) else -1
        except (TypeError, ValueError):
            raise UserError(f"strain_candidates must be a whole number 0..{MAX_CANDIDATES} and strain_beta a number "
                            f"0..{MAX_BETA:g} (got {k!r}, {beta!r})") from None
        if not 0 <= k_int <= MAX_CANDIDATES:
            raise UserError(f"strain_candidates must be a whole number 0..{MAX_CANDIDATES} (got {k})")
        if not 0.0 <= beta_f <= MAX_BETA:
            raise UserError(f"strain_beta must be 0..{MAX_BETA:g} (got {beta})")
        rerank = str(options.get("strain_rerank", self.rerank))
        if rerank not in RERANKS:
            raise UserError(f"strain_rerank must be one of {', '.join(RERANKS)} (got {rerank})")
        return replace(self, candidates=k_int, beta=beta_f, rerank=rerank)

    def to_json(self) -> dict:
        return {"candidates": self.candidates, "beta": self.beta, "rerank": self.rerank,
                "rows": {s: {m: {"forms": {f: round(v, 4) for f, v in row.forms.items()},
                                 "critic": row.critic.to_json(), "figures": row.figures}
                             for m, row in meters.items()} for s, meters in self.rows.items()}}


def _rounded(x: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in x]


def strains_from_header(value, where: str) -> Strains | None:
    """The ``strains`` of a model file's header (None when it has none); one clear error naming ``where`` for any
    malformed field (the file is only read, never run)."""
    if value is None:
        return None
    bad = UserError(f"{where}: its strains are malformed; re-fit them (train --config configs/strains.json)")
    try:
        rows = {}
        for style, meters in value["rows"].items():
            for meter, row in meters.items():
                critic = row["critic"]
                arrays = [np.asarray(critic[k], dtype=float) for k in ("mean", "scale", "coef")]
                forms = {str(f): float(v) for f, v in row["forms"].items()}
                ok = all(a.shape == (feature_count(),) and np.isfinite(a).all() for a in arrays) \
                    and (arrays[1] > 0).all() and forms and all(v >= 0 for v in forms.values()) \
                    and sum(forms.values()) > 0 and all(len(f) == STRAIN_BARS and f.isalpha() for f in forms)
                if not ok or not isinstance(row.get("figures", {}), dict):
                    raise bad
                rows.setdefault(str(style), {})[str(meter)] = StrainRow(
                    forms, StrainCritic(*arrays, float(critic["intercept"])), row.get("figures", {}))
        out = Strains(rows, 0, 0.0)
        return out.with_options({"strain_candidates": value["candidates"], "strain_beta": value["beta"],
                                 "strain_rerank": value.get("rerank", "critic")})
    except (KeyError, TypeError, ValueError, AttributeError):
        raise bad from None


def cell_form(piece_form: str, strain_forms: dict[str, str]) -> str:
    """The piece's form in 1-bar cells: each section letter of ``piece_form`` (strains of ``STRAIN_BARS`` bars)
    spelled out by its strain's form, each strain's cells with characters of their own, so that a cell heard again
    is the same cell only inside one strain's form (and in each hearing of that strain)."""
    names: dict[tuple[str, str], str] = {}
    out = []
    for section in piece_form:
        for cell in strain_forms[section]:
            out.append(names.setdefault((section, cell), chr(0x100 + len(names))))
    return "".join(out)


def draw_strain_forms(row: StrainRow, piece_form: str, rng: torch.Generator) -> dict[str, str]:
    """A form drawn by the row's shares for each distinct section letter of ``piece_form``, in order."""
    return {s: row.draw_form(float(torch.rand(1, generator=rng))) for s in dict.fromkeys(piece_form)}


def strain_log_ratio(row: StrainRow, strain: np.ndarray, bar: int) -> float:
    """The critic's log density ratio of one strain [V, STRAIN_BARS * bar] (from its first full bar)."""
    return float(row.critic.log_ratio(strain_features(strain, bar)[None])[0])


def strain_log_likelihood(engine, strain: np.ndarray, style: int, meter: int, bar: int) -> float:
    """The control's score: the model's own log-likelihood of one strain [V, STRAIN_BARS * bar], read as whole-bar
    windows of the model's length from its start and ending at its end (one window where the strain fits in
    one)."""
    size = strain.shape[1]
    w = min(engine.n_steps // bar * bar, size)
    windows = [strain[:, a : a + w] for a in sorted({0, size - w})]
    x = torch.as_tensor(np.stack(windows), dtype=torch.long)
    c = engine.sampler.conditions([style] * len(windows), [meter] * len(windows))
    with torch.no_grad():
        return -float(categorical_nll(engine.sequence(x, c), x).sum())


def choose(log_ratios: np.ndarray, beta: float, rng: torch.Generator) -> int:
    """The kept candidate: index drawn with probability proportional to exp(beta * log_ratios), by the guided
    sampler's Gumbel-max draw."""
    scores = torch.as_tensor(np.asarray(log_ratios, dtype=float))[None]
    return int(resample_choice(scores, beta, gumbel_noise(tuple(scores.shape), rng))[0])
