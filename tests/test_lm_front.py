"""The language-model front test (experiments/lm_front.py) on a hand-worked fixture."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
import lm_front  # noqa: E402  (a script of experiments/, not a package)


def _write(path: Path, seed: int, rows: dict) -> str:
    path.write_text(json.dumps({"args": {"seed": seed}, "rows": rows}))
    return str(path)


def test_a_challenger_is_read_against_the_base_front_at_its_own_quality(tmp_path, capsys, monkeypatch):
    # base front, seeds 0 and 1: T=0.8 (lm 0.30, rev 0.40 and 0.42), T=1 (lm 0.40, rev 0.34 and 0.34)
    # challenger at lm 0.35 (both seeds), rev 0.33 and 0.35: the front there is halfway, mean (0.41 + 0.34) / 2 =
    # 0.375; the challenger's mean is 0.34, so the gain is 0.035; spreads: the base's larger neighbour 0.02, the
    # challenger's 0.02: above. A second challenger at lm 0.50 is outside the front (no base point above 0.40).
    s0 = {"mle T=0.8": {"lm": 0.30, "reverse_lm": 0.40}, "mle T=1": {"lm": 0.40, "reverse_lm": 0.34},
          "adv T=1": {"lm": 0.35, "reverse_lm": 0.33}, "adv T=1.2": {"lm": 0.50, "reverse_lm": 0.30}}
    s1 = {"mle T=0.8": {"lm": 0.30, "reverse_lm": 0.42}, "mle T=1": {"lm": 0.40, "reverse_lm": 0.34},
          "adv T=1": {"lm": 0.35, "reverse_lm": 0.35}, "adv T=1.2": {"lm": 0.50, "reverse_lm": 0.30}}
    out = tmp_path / "front.json"
    monkeypatch.setattr(sys, "argv", ["lm_front", _write(tmp_path / "a.json", 0, s0),
                                      _write(tmp_path / "b.json", 1, s1), "--base", "mle T=", "--challenger",
                                      "adv T=", "--json", str(out)])
    assert lm_front.main() == 0
    got = json.loads(out.read_text())
    assert got["seeds"] == [0, 1] and len(got["levels"]) == 1 and not got["claim_holds"]
    level = got["levels"][0]
    assert level["knob"] == 1.0
    assert level["base_reverse_lm"] == pytest.approx(0.375)
    assert level["gain"] == pytest.approx(0.035)
    assert level["spread"] == pytest.approx(0.02)
    assert level["above"]
    assert "outside the base front's range" in capsys.readouterr().out


def test_points_missing_a_seed_are_left_out_of_the_front():
    rows = {"mle T=0.8": {0: {"lm": 0.3, "reverse_lm": 0.4}}, "mle T=1": {0: {"lm": 0.4, "reverse_lm": 0.3},
                                                                        1: {"lm": 0.4, "reverse_lm": 0.3}}}
    assert [k for k, _ in lm_front.front(rows, "mle T=", [0, 1])] == [1.0]
    assert lm_front.knob("mle T=0.85", "mle T=") == 0.85 and lm_front.knob("adversarial T=1", "mle T=") is None


def test_the_front_is_the_best_the_base_reaches_at_that_quality_or_better():
    # T=0.8 is better on both axes than the line from T=0.9 to T=1 at lm 0.35 (0.31 against 0.35): the front there
    # is T=0.8's 0.31, not the interpolation
    s = {"lm_spread": 0.0, "reverse_lm_spread": 0.0}
    base = [(0.8, {"lm": 0.30, "reverse_lm": 0.31, **s}), (0.9, {"lm": 0.30, "reverse_lm": 0.36, **s}),
            (1.0, {"lm": 0.40, "reverse_lm": 0.34, **s})]
    assert lm_front.interpolate(base, 0.35)["reverse_lm"] == pytest.approx(0.31)
    assert lm_front.interpolate(base[1:], 0.35)["reverse_lm"] == pytest.approx(0.35)
    assert lm_front.interpolate(base, 0.45) is None
