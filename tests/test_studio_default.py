"""Every studio tool on the shipped model the studio runs with no model given (STUDIO_MODEL), not only on the tiny
model the other studio tests train: compose, variations, morph, continue, harmonise (and its refusal in a
melody-only style), for-you and the live stream, each once, with what each must keep checked on the notes."""

import numpy as np
import pytest

from divertimento.errors import UserError
from divertimento.metrics.decode import decode, to_absolute
from divertimento.models.factory import SHIPPED, STUDIO_MODEL
from divertimento.studio import compose as C
from divertimento.studio.engine import load_studio_model
from divertimento.studio.steering import Rating, recommend
from divertimento.studio.stream import LiveStream


@pytest.fixture(scope="module")
def engine():
    return load_studio_model(None)


def test_the_studio_runs_the_default_model(engine):
    assert engine.sampler.path == SHIPPED[STUDIO_MODEL].path
    # the default data's four-part styles harmonise; its folk styles are melody only
    assert engine.harmony_styles() == ["bach", "palestrina"]


def test_compose_variations_morph_and_continue_on_the_default(engine):
    p = C.compose(engine, (0, 0), style="bach", bars=4, meter="4/4")
    assert p.tokens.shape == (4, 64) and p.style == "bach"
    assert (p.tokens[1:] >= 2).any(axis=1).all()  # a chorale: every lower voice plays a note
    same = C.variations(engine, p, 1, 0.0, seed=1)[0]
    assert np.array_equal(same.tokens, p.tokens)
    (near,) = C.variations(engine, p, 1, 0.5, seed=2)
    assert (near.tokens == p.tokens).mean() >= near.meta["kept_share"] and near.style == "bach"
    q = C.compose(engine, (0, 1), style="irish", bars=4, meter="4/4")
    path = C.interpolate(engine, p, q, 3)
    assert np.array_equal(path[0].tokens, p.tokens) and np.array_equal(path[-1].tokens, q.tokens)
    c = C.continue_piece(engine, p, 2, seed=3)
    assert c.tokens.shape == (4, 96) and np.array_equal(c.tokens[:, :64], p.tokens)


def test_harmonise_on_the_default_keeps_the_melody_under_the_suites_rules(engine):
    tune = C.compose(engine, (2, 0), style="folk-german", bars=4, meter="4/4")
    melody = tune.tokens[0]
    h = C.harmonise(engine, melody, "bach", (0, 0))
    assert np.array_equal(h.tokens[0], melody) and h.style == "bach"
    pitch = decode(to_absolute(h.tokens[None], engine.low)).pitch[0].astype(int)
    sounding = pitch[0] >= 0  # decoded independently: under the melody wherever it sounds, no voice crossing
    assert (pitch[1:, sounding] >= 0).all() and (pitch[1:, sounding] <= pitch[0, sounding]).all()
    both = (pitch[1:] >= 0) & (pitch[:-1] >= 0)
    assert (pitch[1:][both] <= pitch[:-1][both]).all()
    with pytest.raises(UserError, match="styles that can: bach, palestrina$"):
        C.harmonise(engine, melody, "irish", (0, 0))


def test_for_you_and_the_stream_on_the_default(engine):
    liked = C.compose(engine, (1, 1), style="irish", bars=4)
    recs = recommend(engine, [Rating(liked, 1)], 3, seed=3)
    assert len(recs) == 3 and len({r.tokens.tobytes() for r in recs}) == 3
    st = LiveStream(engine, seed=1, style="bach", tempo=120)
    bars = [st.next_bar() for _ in range(2)]
    assert [b.index for b in bars] == [0, 1] and all(b.tokens.shape == (4, 16) for b in bars)
    assert all(b.notes for b in bars) and bars[0].duration_s == pytest.approx(2.0)
