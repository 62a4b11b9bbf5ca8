"""Strains chosen by a critic (studio/strains.py, the strain choice in studio/forms.py, studio/strain_fit.py): the
critic's numbers, the resampling weights, the forms the candidates are drawn in, refusals, and the fit and
``generate`` on a tiny model."""

import json

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from divertimento.cli import main
from divertimento.errors import UserError
from divertimento.models.files import read_file
from divertimento.studio import compose as C
from divertimento.studio.engine import Engine, load_studio_model
from divertimento.studio.strain_figures import STRAIN_BARS, feature_count, strain_features
from divertimento.studio.strain_fit import StrainConfig, _fit_critic
from divertimento.studio.strains import (
    StrainCritic,
    StrainRow,
    Strains,
    cell_form,
    choose,
    strain_log_likelihood,
    strain_log_ratio,
    strains_from_header,
)
from divertimento.studio.whole import length_and_form


def critic_on(feature: int, weight: float = 1.0) -> StrainCritic:
    """log D / (1 - D) = weight * figure ``feature`` (unstandardised)."""
    coef = np.zeros(feature_count())
    coef[feature] = weight
    return StrainCritic(np.zeros(feature_count()), np.ones(feature_count()), coef, 0.0)


LAST_CELL_NOTES = feature_count() - 1  # the figure: notes struck in a strain's eighth bar


def test_the_critic_is_a_logistic_regression_on_standardised_figures():
    critic = StrainCritic(np.array([1.0, 0.0]), np.array([2.0, 1.0]), np.array([0.5, -1.0]), 0.25)
    # (3 - 1) / 2 * 0.5 + (2 - 0) / 1 * -1 + 0.25
    assert critic.log_ratio(np.array([[3.0, 2.0]])).tolist() == [pytest.approx(-1.25)]


def test_forms_are_drawn_by_their_shares():
    row = StrainRow({"ABCDABEF": 1.0, "ABCDEFGH": 3.0}, critic_on(0), {})
    assert [row.draw_form(u) for u in (0.0, 0.24, 0.25, 0.99)] == ["ABCDABEF", "ABCDABEF", "ABCDEFGH", "ABCDEFGH"]


def test_a_piece_form_is_spelled_out_in_bars_strain_by_strain():
    cells = cell_form("AAB", {"A": "ABAB", "B": "AABB"})
    # strain A's two cells (0, 1) are heard in both its hearings; strain B's cells are its own (2, 3)
    assert [ord(x) - 0x100 for x in cells] == [0, 1, 0, 1, 0, 1, 0, 1, 2, 2, 3, 3]


def test_a_tune_shorter_than_its_form_plays_each_strain_once():
    # (bars, form, bars per section): a reel is AABB in 8-bar strains; 16 bars play A and B once, 8 bars A alone
    assert length_and_form("irish", None, None) == (32, "AABB", 8)
    assert length_and_form("fiddle", 16, None) == (16, "AB", 8)
    assert length_and_form("irish", 8, None) == (8, "A", 8)
    assert length_and_form("irish", 12, None) == (12, "AABB", 3)  # not whole strains: the form in equal sections
    assert length_and_form("irish", 64, None) == (64, "AABB", 16)
    assert length_and_form("irish", 16, "ABAB") == (16, "ABAB", 4)  # a form asked for is kept
    assert length_and_form("bach", 16, None) == (16, None, 4)


def test_resampling_weights_follow_the_density_ratio():
    gens = [torch.Generator().manual_seed(s) for s in range(4000)]
    # weights (D / (1 - D))^beta: log ratios 0 and log 3 at beta 1 give 1 : 3, at beta 0.5 1 : sqrt 3
    share = np.mean([choose(np.array([0.0, np.log(3.0)]), 1.0, g) for g in gens])
    assert share == pytest.approx(0.75, abs=0.03)
    gens = [torch.Generator().manual_seed(s) for s in range(4000)]
    share = np.mean([choose(np.array([0.0, np.log(3.0)]), 0.5, g) for g in gens])
    assert share == pytest.approx(np.sqrt(3) / (1 + np.sqrt(3)), abs=0.03)


def test_beta_zero_keeps_the_proposals_own_draw():
    # at beta 0 the choice is the same whatever the scores: a uniformly chosen candidate
    for seed in range(50):
        picks = {choose(np.array(s), 0.0, torch.Generator().manual_seed(seed))
                 for s in ([0.0, 0.0, 0.0], [9.0, -9.0, 0.0], [-5.0, 1.0, 7.0])}
        assert len(picks) == 1
    counts = np.bincount([choose(np.zeros(3), 0.0, torch.Generator().manual_seed(s)) for s in range(3000)])
    assert counts / 3000 == pytest.approx([1 / 3] * 3, abs=0.03)
    assert choose(np.array([0.0, 5.0, 1.0]), 100.0, torch.Generator().manual_seed(0)) == 1


def header_of(strains: Strains) -> dict:
    return json.loads(json.dumps(strains.to_json()))


def test_strains_round_trip_through_a_header_and_malformed_ones_are_refused():
    row = StrainRow({"ABCDABEF": 0.4, "ABCDEFGH": 0.6}, critic_on(3, 2.0), {"real_strains": 9})
    value = header_of(Strains({"folk": {"2/4": row}}, 3, 1.5, "likelihood"))
    back = strains_from_header(value, "m.safetensors")
    assert (back.candidates, back.beta, back.rerank) == (3, 1.5, "likelihood")
    got = back.row("folk", "2/4")
    assert got.forms == row.forms and got.figures == {"real_strains": 9}
    assert np.array_equal(got.critic.coef, row.critic.coef)
    assert back.row("folk", "3/4") is None and back.row("bach", "2/4") is None
    assert strains_from_header(None, "m") is None
    bad = [("scale", [0.0] * feature_count()), ("coef", [1.0] * 5), ("mean", [float("nan")] * feature_count())]
    for key, numbers in bad:
        broken = json.loads(json.dumps(value))
        broken["rows"]["folk"]["2/4"]["critic"][key] = numbers
        with pytest.raises(UserError, match="m.safetensors: its strains are malformed"):
            strains_from_header(broken, "m.safetensors")
    for broken_forms in ({"ABCDABE": 1.0}, {"ABCDABEF": -1.0}, {}):
        broken = json.loads(json.dumps(value))
        broken["rows"]["folk"]["2/4"]["forms"] = broken_forms
        with pytest.raises(UserError, match="malformed"):
            strains_from_header(broken, "m.safetensors")
    with pytest.raises(UserError, match="malformed"):
        strains_from_header({"rows": {}}, "m.safetensors")


@pytest.mark.parametrize("options, message", [
    ({"strain_candidates": 17}, "strain_candidates must be a whole number 0..16"),
    ({"strain_candidates": 2.5}, "whole number"), ({"strain_beta": -1}, "strain_beta must be 0..100"),
    ({"strain_rerank": "vote"}, "strain_rerank must be one of")])
def test_options_out_of_range_are_one_clear_error(options, message):
    strains = Strains({}, 4, 1.0)
    with pytest.raises(UserError, match=message):
        strains.with_options(options)
    assert strains.with_options({"strain_candidates": 2.0, "strain_beta": "0.5"}).candidates == 2


@pytest.fixture(scope="module")
def engine(tiny_mle_run):
    return load_studio_model(str(tiny_mle_run))


def folk_meter(engine) -> str:
    return engine.sampler.meter_names[engine.home_meter(engine.style_index("folk"))]


def with_strains(engine, forms: dict[str, float], critic: StrainCritic, k: int, beta: float,
                 rerank: str = "critic") -> Engine:
    engine.strains = Strains({"folk": {folk_meter(engine): StrainRow(forms, critic, {})}}, k, beta, rerank)
    return engine


def reel(engine, pairs, strains=True):
    return C.compose_many(engine, pairs, "folk", bars=4 * STRAIN_BARS, form="AABB", meter=folk_meter(engine),
                          section_bars=STRAIN_BARS, pickups=True, strains=strains)


def body(piece) -> np.ndarray:
    return piece.tokens.astype(np.int64)[:, piece.meta.get("pickup_steps", 0):]


def test_strains_are_heard_in_their_drawn_form_and_the_piece_repeats_them(engine):
    with_strains(engine, {"ABCDABEF": 1.0}, critic_on(LAST_CELL_NOTES), 1, 1.0)
    piece = reel(engine, [(0, 0)])[0]
    t, bar = body(piece), piece.bar
    assert piece.form == "AABB" and piece.meta["strains"]["forms"] == {"A": "ABCDABEF", "B": "ABCDABEF"}
    strain = 8 * bar
    assert np.array_equal(t[:, :strain], t[:, strain : 2 * strain])  # strain A twice
    assert np.array_equal(t[:, 2 * strain : 3 * strain], t[:, 3 * strain : 3 * strain + t.shape[1] - 3 * strain])
    for s in (0, 2 * strain):  # in each strain bars 1-2 come back as bars 5-6, note for note
        assert np.array_equal(t[:, s : s + 2 * bar], t[:, s + 4 * bar : s + 6 * bar])
    assert not np.array_equal(t[:, :bar], t[:, 2 * strain : 2 * strain + bar])  # strain B is another strain
    # a strain is written once between repeat signs where its second hearing starts on a fresh note
    assert all(r in ([0, 8], [16, 8]) for r in piece.meta.get("repeats", []))


def test_each_strain_keeps_its_best_candidate_and_candidate_0_is_the_one_drawn_alone(engine):
    with_strains(engine, {"ABCDABEF": 0.5, "ABCDEFGH": 0.5}, critic_on(LAST_CELL_NOTES), 1, 1.0)
    alone = [body(p) for p in reel(engine, [(3, 0), (3, 1)])]
    with_strains(engine, {"ABCDABEF": 0.5, "ABCDEFGH": 0.5}, critic_on(LAST_CELL_NOTES), 4, 100.0)
    pieces = reel(engine, [(3, 0), (3, 1)])
    row = engine.strains.row("folk", folk_meter(engine))
    for piece, first in zip(pieces, alone):
        chosen = piece.meta["strains"]
        assert chosen["candidates"] == 4 and set(chosen["chosen"]) == set(chosen["scores"]) == {"A", "B"}
        t, bar = body(piece), piece.bar
        strain = STRAIN_BARS * bar
        for letter, at in (("A", 0), ("B", 2 * strain)):  # strain B is first heard as the third section
            scores = chosen["scores"][letter]
            assert scores[chosen["chosen"][letter]] == max(scores)
            # the kept candidate's score is the critic's on the strain written: the notes in its last bar
            assert scores[chosen["chosen"][letter]] == pytest.approx(strain_log_ratio(row, t[:, at : at + strain],
                                                                                      bar))
            by_hand = int((t[:, at + 7 * bar : at + 8 * bar] >= 2).sum())
            assert scores[chosen["chosen"][letter]] == pytest.approx(by_hand)
        # candidate 0 of strain A is the K = 1 piece's strain A
        assert chosen["scores"]["A"][0] == pytest.approx(strain_log_ratio(row, first[:, :strain], bar))
        if chosen["chosen"]["A"] == 0:
            assert np.array_equal(t[:, :strain], first[:, :strain])
    # strain B is drawn after the strain A kept: the piece is one piece, strain A played twice before it
    assert all(np.array_equal(body(p)[:, : 8 * p.bar], body(p)[:, 8 * p.bar : 16 * p.bar]) for p in pieces)
    # a piece is the piece drawn alone, whatever the batch
    again = reel(engine, [(3, 1)])[0]
    assert np.array_equal(again.tokens, pieces[1].tokens)


def test_the_likelihood_control_keeps_the_strain_the_model_finds_likeliest(engine):
    with_strains(engine, {"ABCDABEF": 0.5, "ABCDEFGH": 0.5}, critic_on(LAST_CELL_NOTES), 3, 100.0, "likelihood")
    piece = reel(engine, [(5, 0)])[0]
    chosen = piece.meta["strains"]
    s, m = engine.style_index("folk"), engine.meter_index(folk_meter(engine))
    t, bar = body(piece), piece.bar
    assert chosen["rerank"] == "likelihood"
    for letter, at in (("A", 0), ("B", 16 * bar)):
        scores = chosen["scores"][letter]
        assert scores[chosen["chosen"][letter]] == max(scores) and all(x < 0 for x in scores)
        assert scores[chosen["chosen"][letter]] == pytest.approx(
            strain_log_likelihood(engine, t[:, at : at + 8 * bar], s, m, bar), abs=1e-3)


def test_no_strains_leaves_the_piece_as_it_was(engine):
    with_strains(engine, {"ABCDABEF": 1.0}, critic_on(0), 4, 1.0)
    plain = reel(engine, [(7, 0)], strains=False)[0]
    with_strains(engine, {"ABCDABEF": 1.0}, critic_on(0), 0, 1.0)  # strain_candidates=0
    assert np.array_equal(reel(engine, [(7, 0)])[0].tokens, plain.tokens)
    assert "strains" not in plain.meta
    engine.strains = None


def run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_train_fits_strains_that_generate_uses_and_refuses_bad_options(tiny_mle_run, small_data, tmp_path, capsys):
    config = tmp_path / "strains.json"
    config.write_text(json.dumps({"family": "strains", "base_model": str(tiny_mle_run / "model.safetensors"),
                                  "styles": ["folk"], "candidates": 2, "min_pieces": 5, "max_pieces": 20}))
    out = tmp_path / "fit"
    code, printed, err = run_cli(["train", "--config", str(config), "--data", str(small_data), "--out", str(out),
                                  "--quiet"], capsys)
    assert code == 0, err
    header, tensors = read_file(out / "model.safetensors")
    base_header, base_tensors = read_file(tiny_mle_run / "model.safetensors")
    assert all(torch.equal(tensors[k], base_tensors[k]) for k in base_tensors)  # the weights untouched
    strains = strains_from_header(header["strains"], "fit")
    assert strains.candidates == 2 and "folk" in strains.rows
    for row in strains.rows["folk"].values():
        assert sum(row.forms.values()) == pytest.approx(1.0, abs=1e-3)
        assert row.figures["real_strains"] == row.figures["model_strains"] >= 5
    # the same config on the same data and model writes the same strains
    run_cli(["train", "--config", str(config), "--data", str(small_data), "--out", str(tmp_path / "again"),
             "--quiet"], capsys)
    assert read_file(tmp_path / "again" / "model.safetensors")[0]["strains"]["rows"] == header["strains"]["rows"]
    meter = next(iter(strains.rows["folk"]))
    code, _, err = run_cli(["generate", "--model", str(out), "--style", "folk", "--meter", meter, "--form", "AB",
                            "--bars", "16", "--n", "2", "--out", str(tmp_path / "g"), "--formats", "mid",
                            "--keep-copies"], capsys)
    assert code == 0, err
    for entry in json.loads((tmp_path / "g" / "generated.json").read_text())["pieces"]:
        assert entry["strains"]["candidates"] == 2 and set(entry["strains"]["chosen"].values()) <= {0, 1}
        assert set(entry["strains"]["forms"]) == {"A", "B"}
        assert all(f in strains.rows["folk"][meter].forms for f in entry["strains"]["forms"].values())
    for bad, message in [("strain_candidates=40", "strain_candidates must be a whole number 0..16"),
                         ("strain_beta=-2", "strain_beta must be 0..100")]:
        code, _, err = run_cli(["generate", "--model", str(out), "--n", "1", "--out", str(tmp_path / "h"),
                                "--option", bad], capsys)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(["generate", "--model", str(tiny_mle_run), "--n", "1", "--out", str(tmp_path / "i"),
                            "--option", "strain_beta=1"], capsys)
    assert code == 2 and "carries no strain critic" in err


def test_a_strain_fit_refuses_what_it_cannot_fit(tiny_mle_run, tiny_run, small_data, tmp_path, capsys):
    cases = [({"base_model": str(tiny_mle_run / "model.safetensors"), "styles": ["reel"]}, "unknown style"),
             ({"base_model": str(tiny_run / "model.safetensors"), "styles": ["folk"]}, "sequence model"),
             ({"base_model": str(tiny_mle_run / "model.safetensors"), "styles": ["folk"], "min_pieces": 300,
               "max_pieces": 400}, "nothing to fit"),
             ({"base_model": str(tiny_mle_run / "model.safetensors"), "styles": ["folk"], "beta": -1},
              "beta 0..100"),
             ({"base_model": str(tiny_mle_run / "model.safetensors"), "styles": ["folk"], "stpes": 3},
              "unknown strain config key"),
             ({"base_model": str(tiny_mle_run / "model.safetensors"), "styles": ["folk"], "calibrate": "maybe"},
              "true or false")]
    for values, message in cases:
        config = tmp_path / "c.json"
        config.write_text(json.dumps({"family": "strains", **values}))
        code, _, err = run_cli(["train", "--config", str(config), "--data", str(small_data), "--out",
                                str(tmp_path / "o"), "--quiet"], capsys)
        assert code == 2 and message in err, err


def test_the_critic_is_calibrated_on_its_held_out_folds():
    # real strains strike more notes than the model's; the critic's log ratio s is scaled to a * s + b, fitted on the
    # folds' held-out scores: the logistic likelihood's score equations hold there (sum (p - y) = 0 and
    # sum s (p - y) = 0, p = sigmoid(a * s + b)), checked on out-of-fold scores computed here
    rng = np.random.default_rng(0)
    bar = 8

    def strain(density: float) -> np.ndarray:
        t = np.zeros((1, STRAIN_BARS * bar), dtype=np.int64)
        t[0] = np.where(rng.random(t.shape[1]) < density, rng.integers(20, 40, t.shape[1]), 1)
        t[0, 0] = 30
        return t

    real = [strain(0.55) for _ in range(60)]
    made = [strain(0.45) for _ in range(60)]
    plain, accuracy, one = _fit_critic(real, made, bar, StrainConfig(calibrate=False))
    calibrated, same_accuracy, a = _fit_critic(real, made, bar, StrainConfig(calibrate=True))
    assert one == 1.0 and accuracy == same_accuracy and 0 < a < 1  # an overconfident critic is tempered
    assert np.allclose(calibrated.coef, a * plain.coef)
    x = np.stack([strain_features(t, bar) for t in real + made])
    y = np.r_[np.ones(60), np.zeros(60)]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000))
    held_out = cross_val_predict(model, x, y, cv=StratifiedKFold(5, shuffle=True, random_state=0),
                                 method="decision_function")
    b = calibrated.intercept - a * plain.intercept
    p = 1 / (1 + np.exp(-(a * held_out + b)))
    assert abs(np.sum(p - y)) < 1e-3 and abs(np.sum(held_out * (p - y))) < 1e-3
