"""Composing tools as library functions: forms, variations, interpolation, continuation, harmonisation,
originality, personalised steering and the live stream."""

import numpy as np
import pytest
import torch

from divertimento.data.dataset import load_prepared
from divertimento.errors import UserError
from divertimento.metrics.decode import decode, to_absolute
from divertimento.models.smc import FREE
from divertimento.music.notes import Piece, Track
from divertimento.sample.originality import Originality
from divertimento.studio import compose as C
from divertimento.studio.engine import load_studio_model
from divertimento.studio.pieces import StudioPiece
from divertimento.studio.service import GenerateRequest, Studio
from divertimento.studio.simulate import simulate
from divertimento.studio.steering import Rating, first_window, recommend, similarity
from divertimento.studio.stream import LiveStream


@pytest.fixture(scope="module")
def bundle(tiny_mle_run):
    return load_studio_model(str(tiny_mle_run))


@pytest.fixture(scope="module")
def studio(bundle, small_data):
    return Studio(bundle, str(small_data))


def test_one_window_is_the_generate_piece(bundle):
    for pair in [(0, 0), (3, 5)]:
        p = C.compose(bundle, pair, temperature=1.0)
        ref, styles = bundle.sampler.generate_tokens([pair], temperature=1.0)
        # four bars of the meter drawn for the piece: the generated window's first 4 bars
        assert p.tokens.shape[1] == 4 * p.bar
        assert np.array_equal(p.tokens, ref[0][:, : 4 * p.bar]) and p.style == styles[0]
    # drawn in one batch, each piece is the piece drawn alone
    many = C.compose_many(bundle, [(0, 0), (3, 5), (2, 2)], bars=6)
    for got, pair in zip(many, [(0, 0), (3, 5), (2, 2)]):
        assert np.array_equal(got.tokens, C.compose(bundle, pair, bars=6).tokens)


def test_forms_repeat_their_sections_and_long_pieces_grow_from_the_first_window(bundle):
    p = C.compose(bundle, (1, 0), style="bach", form="AABA", meter="4/4")
    assert p.tokens.shape == (4, 4 * 64) and p.form == "AABA"
    A, B = p.tokens[:, :64], p.tokens[:, 128:192]
    assert np.array_equal(p.tokens[:, 64:128], A) and np.array_equal(p.tokens[:, 192:], A)
    assert not np.array_equal(A, B)
    one = C.compose(bundle, (2, 0), meter="4/4")
    q = C.compose(bundle, (2, 0), bars=10, meter="4/4")
    assert q.tokens.shape == (4, 160) and q.form == "ABC" and np.array_equal(q.tokens[:, :64], one.tokens)
    assert q.tokens.max() < bundle.vocab_size
    short = C.compose(bundle, (2, 0), bars=2, meter="4/4")
    assert np.array_equal(short.tokens, one.tokens[:, :32])
    with pytest.raises(UserError):
        C.compose(bundle, (0, 0), form="AXA")
    with pytest.raises(UserError):
        C.compose(bundle, (0, 0), bars=65)  # the studio makes at most 64 bars


def test_rows_with_and_without_given_tokens_draw_side_by_side_as_alone(bundle):
    # a piece whose opening is silent gets no final cadence: one row gives tokens, the other none
    before = np.stack([bundle.sampler.generate_tokens([(6, i)], style="bach")[0][0][:, :32] for i in range(2)])
    given = np.full((2, 4, 48), FREE)
    given[0, 0, 32:] = 30
    rngs = [torch.Generator().manual_seed(k) for k in (1, 2)]
    both = bundle.extend_many(before, 48, [0, 0], rngs, given, particles=4, meter=0)
    for i, k in enumerate((1, 2)):
        alone = bundle.extend_many(before[i : i + 1], 48, [0], [torch.Generator().manual_seed(k)], given[i : i + 1],
                                   particles=4, meter=0)
        assert np.array_equal(both[i], alone[0])
    assert (both[0, 0, 32:] == 30).all()


def test_given_tokens_are_kept_exactly(bundle):
    g = np.full((4, 48), FREE)
    g[2, 5:30] = 7  # a tenor held on one token, out of nowhere
    g[0, ::3] = 2
    tok = bundle.window(0, g, torch.Generator().manual_seed(0), particles=8)
    assert tok.shape == (4, 48) and np.array_equal(tok[g != FREE], g[g != FREE])


def test_variations_morphs_and_continuation(bundle):
    p = C.compose(bundle, (4, 0), style="folk")
    same = C.variations(bundle, p, 1, 0.0, seed=1)[0]
    assert np.array_equal(same.tokens, p.tokens)
    near = C.variations(bundle, p, 6, 0.15, seed=2)
    far = C.variations(bundle, p, 6, 0.9, seed=2)
    d_near = np.mean([(v.tokens != p.tokens).mean() for v in near])
    d_far = np.mean([(v.tokens != p.tokens).mean() for v in far])
    assert d_near < d_far and all(v.style == "folk" for v in near)
    # a kept cell is the parent's token: at least the kept share of tokens is unchanged
    assert all((v.tokens == p.tokens).mean() >= v.meta["kept_share"] for v in near + far)
    form = C.compose(bundle, (4, 1), style="bach", form="ABA")
    for v in C.variations(bundle, form, 2, 0.5, seed=3):
        assert v.form == "ABA" and np.array_equal(v.tokens[:, :64], v.tokens[:, 128:])
    q = C.compose(bundle, (5, 0), style="bach")
    path = C.interpolate(bundle, p, q, 5)
    assert np.array_equal(path[0].tokens, p.tokens) and np.array_equal(path[-1].tokens, q.tokens)
    assert [x.style for x in path] == ["folk", "folk", "bach", "bach", "bach"]
    c = C.continue_piece(bundle, p, 8, seed=3)
    assert c.tokens.shape == (4, 64 + 128) and np.array_equal(c.tokens[:, :64], p.tokens) and c.form == "ABC"
    again = C.continue_piece(bundle, c, 4, seed=4)
    assert again.tokens.shape[1] == 64 + 128 + 64 and np.array_equal(again.tokens[:, :192], c.tokens)
    with pytest.raises(UserError):
        C.continue_piece(bundle, c, 60, seed=1)  # past the 64 bars the studio makes
    with pytest.raises(UserError):
        C.variations(bundle, p, 1, 1.5, seed=1)


def folk_tune(pickup: bool) -> Piece:
    notes = [[0, 4, 60, 80]] if pickup else []
    off = 4 if pickup else 0
    notes += [[off + 4 * i, 4, p, 80] for i, p in enumerate([64, 67, 67, 65, 64, 62, 60, 62, 64, 64, 62])]
    notes.append([off + 44, 8, 60, 80])
    bars = [[0, 4, 4, 4]] if pickup else []
    bars += [[off + 16 * i, 16, 4, 4] for i in range(4)]
    return Piece("tune", 4, [Track("melody", 0, False, np.array(notes, dtype=np.int32))], np.array(bars, np.int32))


def test_harmonise_keeps_the_melody_and_stays_under_it(bundle):
    mel, info = C.melody_from_piece(folk_tune(pickup=True), bundle)
    assert info["pickup_steps"] == 4
    assert mel[12] >= 2 and (mel[:12] == 0).all()  # the pickup ends on the barline at step 16
    h = C.harmonise(bundle, mel, "bach", (0, 0))
    assert np.array_equal(h.tokens[0], mel)
    assert h.melody_locked and h.style == "bach"
    # decoded independently: wherever the melody sounds, every lower voice sounds, and none above it
    pitch = decode(to_absolute(h.tokens[None], bundle.low)).pitch[0].astype(int)
    sounding = pitch[0] >= 0
    assert (pitch[1:, sounding] >= 0).all() and (pitch[1:, sounding] <= pitch[0, sounding]).all()
    both = (pitch[1:] >= 0) & (pitch[:-1] >= 0)  # and no voice crosses the one above it (the suite's rule)
    assert (pitch[1:][both] <= pitch[:-1][both]).all()
    var = C.variations(bundle, h, 2, 1.0, seed=1)
    assert all(np.array_equal(v.tokens[0], h.tokens[0]) and v.melody_locked for v in var)
    assert any(not np.array_equal(v.tokens[1:], h.tokens[1:]) for v in var)
    # the folk tunes of the test data are melody only: one clear line naming the styles that can harmonise
    with pytest.raises(UserError, match="styles that can: bach$"):
        C.harmonise(bundle, mel, "folk", (0, 0))
    wide = folk_tune(False)
    wide.tracks[0].notes[0, 2] = 10  # a melody spanning more than the model's range
    with pytest.raises(UserError):
        C.melody_from_piece(wide, bundle)
    with pytest.raises(UserError):
        C.harmonise(bundle, np.zeros(64, dtype=np.int64), "bach", (0, 0))


def test_originality_flags_copies_and_filters_them(bundle, small_data, studio):
    data = load_prepared(small_data)
    train = data.splits["train"]["rolls"]
    orig = Originality(__import__("pathlib").Path(small_data))
    figs = orig.score([train[3], train[3][:, :48]], bundle.low, 64, 16)
    assert figs[0]["near_copy"] and figs[0]["copy_score"] == 1.0 and figs[0]["distance"] == 0.0
    assert "bar" in figs[0]["nearest"]
    # a long piece with a copied window starting at a barline inside it is still flagged
    long = np.concatenate([np.zeros((4, 48), np.uint8), train[5], np.zeros((4, 32), np.uint8)], axis=1)
    assert orig.score([long], bundle.low, 64, 16)[0]["near_copy"]
    assert Originality(None).score([train[0]], bundle.low, 64, 16) == [None]
    # the filter: a maker whose first pieces are copies
    def make(k):
        tok = train[k] if k < 2 else C.compose(bundle, (7, k)).tokens
        return StudioPiece(tok, "bach", "A", (0, k), 1.0, "generated", f"p{k}")

    kept, dropped = studio._filtered(lambda ks: [make(k) for k in ks], 2, avoid=True)
    assert dropped >= 2 and len(kept) == 2 and not any(p.originality["near_copy"] for p in kept)
    kept, dropped = studio._filtered(lambda ks: [make(k) for k in ks], 2, avoid=False)
    assert dropped == 0 and kept[0].originality["near_copy"]
    pieces, _ = studio.generate(GenerateRequest(n=3, seed=1))
    assert all(p.originality is not None for p in pieces)


def test_for_you_is_steered_diverse_and_no_repeat(bundle):
    liked = C.compose(bundle, (1, 1), style="folk")
    disliked = C.compose(bundle, (1, 2), style="bach")
    recs = recommend(bundle, [Rating(liked, 1), Rating(disliked, -1)], 6, seed=3)
    assert len(recs) == 6 and all(r.kind == "for-you" for r in recs)
    toks = np.stack([first_window(r.tokens, 64) for r in recs])  # pieces of several meters, as windows
    assert (similarity(toks, first_window(liked.tokens, 64)[None], bundle.low) < 0.8).all()
    assert len({r.tokens.tobytes() for r in recs}) == 6
    assert sum(r.style == "folk" for r in recs) >= 4


def test_simulated_listener_gets_more_of_what_it_likes(bundle):
    rule = lambda p: p.style == "bach"  # noqa: E731
    res = simulate(bundle, rule, listeners=2, rounds=3, per_round=6)
    first, last = res["hit_rate_by_round"][0], res["hit_rate_by_round"][-1]
    assert last >= 0.8 and last > first
    assert res["repeat_rate_of_liked"] == 0.0


def test_live_stream_continues_and_obeys_changes(bundle):
    st = LiveStream(bundle, seed=1, style="bach", tempo=120)
    bars = [st.next_bar() for _ in range(3)]
    assert [b.index for b in bars] == [0, 1, 2] and bars[0].duration_s == pytest.approx(2.0)
    assert all(b.tokens.shape == (4, 16) for b in bars)
    st.set(style="folk", intensity=0.1, tempo=180)
    b = st.next_bar()
    assert b.style == "folk" and b.tempo == 180 and (b.tokens[1:3] == 0).all()  # inner voices rest
    assert all(0 <= n[1] < 16 and n[1] + n[2] <= 16 for n in b.notes)
    assert b.gen_ms < 1000 * b.duration_s
    for bad in [dict(tempo=1000), dict(intensity=2), dict(style="klezmer")]:
        with pytest.raises(UserError):
            st.set(**bad)


def test_compose_command(tiny_mle_run, small_data, tiny_run, tmp_path, capsys):
    import argparse
    import json

    from divertimento.commands import compose as command
    from divertimento.music.write import write_midi

    p = argparse.ArgumentParser()
    command.add_arguments(p)
    write_midi(folk_tune(False), tmp_path / "tune.mid")
    for argv in (["harmonise", str(tmp_path / "tune.mid"), "--style", "bach"], ["form", "--form", "ABA"],
                 ["vary", "--n", "2"]):
        out = tmp_path / argv[0]
        args = p.parse_args(argv + ["--model", str(tiny_mle_run), "--out", str(out), "--train-data", str(small_data),
                                    "--formats", "mid"])
        assert command.run(args) == 0
        index = json.loads((out / "compose.json").read_text())
        assert all(e["originality"] is not None and (out / e["files"]["mid"]).is_file() for e in index["pieces"])
    with pytest.raises(UserError):
        command.run(p.parse_args(["harmonise", "--model", str(tiny_mle_run), "--out", str(tmp_path / "x")]))
    # a latent model cannot be sampled with given notes: one line, exit 2
    from divertimento.cli import main
    assert main(["compose", "form", "--model", str(tiny_run), "--out", str(tmp_path / "gan")]) == 2
    assert "needs a sequence model" in capsys.readouterr().err
