"""What a model or checkpoint file must look like before anything is built from it: its header's fields and their
types, and every tensor's dtype and finiteness. A hostile or damaged file is one clear line, never a traceback
deep inside a command, and never weights silently cast (int8 truncates) or NaNs sampled from."""

import math

import torch

from ..errors import UserError


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x) -> bool:
    return (_is_int(x) or isinstance(x, float)) and math.isfinite(x)


def _list_of(x, check, length: int | None = None) -> bool:
    return isinstance(x, list) and (length is None or len(x) == length) and all(check(v) for v in x)


def _pickup_row(row) -> bool:
    """``{"pieces": n, "pickups": {"<steps>": count, ...}}`` with no more pickups than pieces."""
    if not (isinstance(row, dict) and _is_int(row.get("pieces")) and isinstance(row.get("pickups"), dict)):
        return False
    counts = row["pickups"]
    return all(k.isdigit() and 0 < int(k) <= 4096 and _is_int(v) and v >= 0 for k, v in counts.items()) and \
        sum(counts.values()) <= row["pieces"]


def _check_data(d: dict) -> str | None:
    """The first thing wrong with a data summary, or None."""
    if not isinstance(d, dict):
        return "data summary is not a mapping"
    checks = {
        "layout": lambda x: isinstance(x, str), "roles": lambda x: _list_of(x, lambda v: isinstance(v, str)),
        "monophonic": lambda x: isinstance(x, bool), "steps_per_quarter": lambda x: _is_int(x) and 1 <= x <= 48,
        "window_steps": lambda x: _is_int(x) and 1 <= x <= 4096,
        "pitch_range": lambda x: _list_of(x, lambda v: _is_int(v) and 0 <= v <= 127, 2) and x[0] <= x[1],
        "vocab_size": lambda x: _is_int(x) and 1 <= x <= 1024,
        "style_names": lambda x: _list_of(x, lambda v: isinstance(v, str)) and len(x) >= 1,
        "style_shares": lambda x: _list_of(x, lambda v: _is_number(v) and v >= 0),
    }
    for key, ok in checks.items():
        if key not in d or not ok(d[key]):
            return f"data field {key!r} is missing or malformed"
    n_styles = len(d["style_names"])
    if len(d["style_shares"]) != n_styles:
        return "data field 'style_shares' does not match the styles"
    meters = d.get("meter_names")
    if meters is not None:
        if not _list_of(meters, lambda v: isinstance(v, str)):
            return "data field 'meter_names' is malformed"
        if not _list_of(d.get("meter_bar_steps"), lambda v: _is_int(v) and 1 <= v <= 4096, len(meters)):
            return "data field 'meter_bar_steps' is missing or malformed"
        if not _list_of(d.get("meter_shares"), lambda row: _list_of(row, lambda v: _is_number(v) and v >= 0,
                                                                     len(meters)), n_styles):
            return "data field 'meter_shares' is missing or malformed"
    drums = d.get("drum_voices")
    if drums is not None and not _list_of(drums, lambda v: isinstance(v, bool), len(d["roles"])):
        return "data field 'drum_voices' is malformed"
    tempos = d.get("style_tempos")
    if tempos is not None and not (isinstance(tempos, dict) and all(
            isinstance(k, str) and _is_number(v) and 20 <= v <= 400 for k, v in tempos.items())):
        return "data field 'style_tempos' is malformed"
    pickups = d.get("pickups")
    if pickups is not None and not (isinstance(pickups, dict) and all(
            isinstance(meters, dict) and all(_pickup_row(row) for row in meters.values())
            for meters in pickups.values())):
        return "data field 'pickups' is malformed"
    use = d.get("voice_use")
    if use is not None and not _list_of(use, lambda row: _list_of(row, _is_number, len(d["roles"])), n_styles):
        return "data field 'voice_use' is malformed"
    return None


SAMPLING = {"temperature": lambda x: _is_number(x) and 0.05 <= x <= 10,
            "strict_voice_leading": lambda x: isinstance(x, bool), "beta": lambda x: _is_number(x) and x >= 0,
            "rerank": lambda x: x in ("critic", "likelihood"),
            "pitch_temperature": lambda x: _is_number(x) or (isinstance(x, dict) and all(
                isinstance(k, str) and _is_number(v) for k, v in x.items()))}


def check_header(header, path) -> None:
    """One UserError naming the first malformed field of a model or checkpoint header."""
    if not isinstance(header, dict):
        raise UserError(f"{path}: its metadata is not a mapping; not a divertimento model")
    problem = None
    if not isinstance(header.get("family"), str):
        problem = "no model family"
    elif not isinstance(header.get("config"), dict):
        problem = "no training config"
    elif "step" in header and header["step"] is not None and not (_is_int(header["step"]) and header["step"] >= 0):
        problem = "step is not a whole number"
    else:
        problem = _check_data(header.get("data"))
    sampling = header.get("sampling", {})
    if problem is None and not isinstance(sampling, dict):
        problem = "sampling recommendation is not a mapping"
    elif problem is None:
        bad = [k for k, ok in SAMPLING.items() if k in sampling and not ok(sampling[k])]
        problem = f"sampling field {bad[0]!r} is malformed" if bad else None
    if problem is None and "base" in header:
        base = header["base"]
        if not isinstance(base, dict) or not isinstance(base.get("config"), dict):
            problem = "the proposal model's entry ('base') is malformed"
        else:
            problem = _check_data(base.get("data", header["data"]))
    if problem:
        raise UserError(f"{path}: {problem}; the file is damaged or not a divertimento model")


def allowed_dtypes(name: str) -> tuple[torch.dtype, ...]:
    """The sampled module's weights are float32; a random stream's state is bytes; other modules and optimiser
    state are float32 (optimisers may keep int64 counters)."""
    if name.startswith("model."):
        return (torch.float32,)
    if name.startswith(("rng.", "fingerprint.")):
        return (torch.uint8,)
    return (torch.float32, torch.int64)


def check_tensors(tensors: dict[str, torch.Tensor], path) -> None:
    """Every tensor of an allowed dtype (``allowed_dtypes``) and finite. Checked in name order: safetensors hands
    tensors back in a random order per process, and the same file must always get the same message."""
    for name, t in sorted(tensors.items()):
        allowed = allowed_dtypes(name)
        if t.dtype not in allowed:
            raise UserError(f"{path}: tensor {name} is {str(t.dtype).replace('torch.', '')}, expected "
                            f"{' or '.join(str(d).replace('torch.', '') for d in allowed)}")
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise UserError(f"{path}: tensor {name} holds NaN or infinite values")
