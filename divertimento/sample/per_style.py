"""A sampling option given for every style at once or style by style: ``0.7``, ``bach:0.7/palestrina:0.8`` on the
command line (``/`` or ``,`` between styles), or a {style: value} mapping in a model file's recommendations. A
module takes such an option (its ``per_style_options``) as one number, or one number per style in its style order,
a style not named taking the option's neutral value."""

from ..errors import UserError


def per_style(name: str, value, style_names: list[str], neutral: float) -> float | tuple[float, ...]:
    """``value`` as a module takes it: a float, or one float per style of ``style_names``."""
    if isinstance(value, bool):
        raise UserError(f"{name} wants a number or STYLE:VALUE/STYLE:VALUE (got {value!r})")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        value = parse_per_style(name, value)
    if not isinstance(value, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                              for v in value.values()):
        raise UserError(f"{name} wants a number or STYLE:VALUE/STYLE:VALUE (got {value!r})")
    unknown = sorted(set(value) - set(style_names))
    if unknown:
        raise UserError(f"{name}: this model has no style {', '.join(unknown)} (it has: {', '.join(style_names)})")
    return tuple(float(value.get(s, neutral)) for s in style_names)


def parse_per_style(name: str, text: str) -> dict[str, float]:
    """``bach:0.7/palestrina:0.8`` -> {"bach": 0.7, "palestrina": 0.8}."""
    out = {}
    for part in text.replace(",", "/").split("/"):
        style, sep, number = part.partition(":")
        try:
            if not sep or not style.strip():
                raise ValueError
            out[style.strip()] = float(number)
        except ValueError:
            raise UserError(f"{name} wants a number or STYLE:VALUE/STYLE:VALUE (got {text!r})") from None
    return out


def as_recommended(resolved: float | tuple[float, ...], style_names: list[str],
                   neutral: float) -> float | dict[str, float]:
    """What a model file stores for a value ``per_style`` resolved: the number, or {style: value} for the styles that
    differ from ``neutral``."""
    if isinstance(resolved, float):
        return resolved
    return {s: v for s, v in zip(style_names, resolved) if v != neutral}
