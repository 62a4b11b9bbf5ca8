"""What the experiment scripts share: a model point written LABEL:MODEL:KNOBS, and disjoint seeds of pieces."""

SEED_BLOCK = 1_000_000  # seed s draws pieces s * SEED_BLOCK + i, so no two seeds share a piece


def parse_point(text: str) -> tuple[str, str, float | None, dict]:
    """(label, model, temperature or None, sampling options) of LABEL:MODEL:KNOBS, KNOBS a comma list of
    temperature=V and the family's sampling options: a number, or a word (rerank=likelihood) or per-style values
    (pitch_temperature=bach:0.7/palestrina:0.8) that the sampler reads."""
    label, model, knobs = (text.split(":", 2) + [""])[:3]
    temperature, options = None, {}
    for kv in filter(None, knobs.split(",")):
        k, v = kv.split("=", 1)
        if k == "temperature":
            temperature = float(v)
        else:
            try:
                options[k] = float(v)
            except ValueError:
                options[k] = v
    return label, model, temperature, options
