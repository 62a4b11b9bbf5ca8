"""Reading the JSON files a user hands us (configs, variants, metrics) with one clear error per failure."""

import json
from pathlib import Path

from .errors import UserError


def read_json_object(path: str | Path, what: str) -> dict:
    """The JSON object in ``path``; a UserError naming ``what`` the file was meant to be when it is missing,
    unreadable, not JSON, or not an object."""
    try:
        d = json.loads(Path(path).read_text())
    except OSError as e:
        raise UserError(f"cannot read {what} {path}: {e.strerror}") from None
    except ValueError as e:
        raise UserError(f"{what} {path} is not valid JSON: {e}") from None
    if not isinstance(d, dict):
        raise UserError(f"{what} {path} must hold a JSON object")
    return d
