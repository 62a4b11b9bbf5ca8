"""``--option KEY=VALUE``: a sampling option of a model's family, as generate and evaluate take it."""

from ..errors import UserError


def parse_options(items: list[str]) -> dict:
    """KEY=VALUE pairs; numbers become floats, anything else stays a string (the family checks both)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--option wants key=value (got {item!r})")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            out[key.strip()] = value.strip()
    return out
