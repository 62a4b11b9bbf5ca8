"""Side-by-side tables of several evaluations (metrics.json files or the directories holding them)."""

import math
from pathlib import Path

from ..errors import UserError
from ..json_file import read_json_object

DEFAULT_KEYS_PREFIXES = ("quality/", "diversity/", "novelty/", "style/")


def find_metrics(path: str | Path) -> Path:
    """metrics.json itself, the one in a directory, or the newest one up to three levels below (a run dir)."""
    p = Path(path)
    if p.is_file():
        return p
    if not p.is_dir():
        raise UserError(f"{p} does not exist")
    if (p / "metrics.json").is_file():
        return p / "metrics.json"
    found = [q for pattern in ("*/metrics.json", "*/*/metrics.json", "*/*/*/metrics.json") for q in p.glob(pattern)]
    if not found:
        raise UserError(f"no metrics.json in {p}; run `divertimento evaluate ... --out DIR` first")
    return max(found, key=lambda q: q.stat().st_mtime)


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}/"))
        elif v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)):
            out[prefix + k] = v
    return out


def load_metrics(path: str | Path) -> tuple[str, dict]:
    f = find_metrics(path)
    data = read_json_object(f, "metrics file")
    label = f.parent.name if f.name == "metrics.json" else f.stem
    return label, _flatten(data)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def compare(paths: list[str], keys: list[str] | None = None, all_keys: bool = False) -> tuple[str, dict]:
    """(markdown table, {"runs": [...], "metrics": {key: {run: value}}}) with one column per evaluation."""
    if len(paths) < 1:
        raise UserError("compare needs at least one evaluation")
    runs = []
    for p in paths:
        label, m = load_metrics(p)
        base, i = label, 2
        while label in [r[0] for r in runs]:
            label = f"{base} ({i})"
            i += 1
        runs.append((label, m, str(find_metrics(p))))
    union: list[str] = []
    for _, m, _ in runs:
        union += [k for k in m if k not in union]
    if keys:
        chosen = [k for k in union if any(k == s or k.startswith(s.rstrip("/") + "/") for s in keys)]
        if not chosen:
            raise UserError(f"no metric matches {', '.join(keys)}")
    elif all_keys:
        chosen = union
    else:
        chosen = [k for k in union if k.startswith(DEFAULT_KEYS_PREFIXES) and "/ref_share/" not in k
                  and not k.startswith(("quality/mgeval/", "diversity/intra_set_oa/", "quality/relative_error/"))
                  or k in ("quality/mgeval/mean_oa", "quality/relative_error/mean")]
    header = "| metric | " + " | ".join(r[0] for r in runs) + " |"
    sep = "|---|" + "---:|" * len(runs)
    lines = [header, sep] + [f"| {k} | " + " | ".join(_fmt(m.get(k)) for _, m, _ in runs) + " |" for k in chosen]
    table = {"runs": [{"label": r[0], "path": r[2]} for r in runs],
             "metrics": {k: {r[0]: r[1].get(k) for r in runs} for k in chosen}}
    return "\n".join(lines) + "\n", table
