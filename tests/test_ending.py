"""A piece's last bar: the tonic of its key in the top voice and the bass, held, with the draws before it free."""

import numpy as np

from divertimento.models.smc import FREE
from divertimento.studio import compose as C
from divertimento.studio.ending import final_cadence, key_of_tokens
from divertimento.studio.engine import load_studio_model


def d_major_opening(low=36):
    """Soprano D5 F#5 A5 F#5 as quarters (4 steps each), bass D3 held, alto and tenor silent; tokens = 2 + p - low."""
    tok = lambda p: 2 + p - low  # noqa: E731
    op = np.zeros((4, 16), dtype=np.int64)
    for i, p in enumerate([74, 78, 81, 78]):
        op[0, 4 * i] = tok(p)
        op[0, 4 * i + 1 : 4 * i + 4] = 1
    op[3, 0], op[3, 1:] = tok(50), 1
    return op


def test_the_last_bar_is_the_tonic_in_the_outer_voices():
    op, low = d_major_opening(), 36
    assert key_of_tokens(op, low).tonic == 2  # D
    g = final_cadence(op, 48, 12, low, vocab_size=60)
    # soprano: median pitch 78 (F#5); the nearest D is D5 = 74 (F#5 - 4) rather than D6 = 86; bass: D3 = 50
    assert g[0, 36] == 2 + 74 - low and (g[0, 37:] == 1).all() and (g[0, :36] == FREE).all()
    assert g[3, 36] == 2 + 50 - low and (g[3, 37:] == 1).all()
    assert (g[1:3] == FREE).all()  # inner voices silent in the opening: free
    # a style that never uses the bass: only the top voice is given
    g = final_cadence(op, 48, 12, low, 60, voice_use=[1.0, 0.0, 0.0, 0.0])
    assert (g[3] == FREE).all() and g[0, 36] == 2 + 74 - low
    # too short for a last bar: nothing given
    assert (final_cadence(op, 8, 12, low, 60) == FREE).all()


def test_a_long_piece_ends_on_its_tonic(tiny_mle_run):
    engine = load_studio_model(str(tiny_mle_run))
    p = C.compose(engine, (4, 1), style="bach", bars=8, meter="4/4")
    first = C.compose(engine, (4, 1), style="bach", bars=4, meter="4/4")
    # the long piece opens with generate's first bar and is drawn from there towards its cadences, in the key of
    # generate's window (studio/phrases.py)
    assert np.array_equal(p.tokens[:, :16], first.tokens[:, :16])
    tonic = key_of_tokens(first.tokens, engine.low).tonic
    last = p.tokens[:, -16:]
    for v in (0, 3):
        assert (int(last[v, 0]) - 2 + engine.low) % 12 == tonic and (last[v, 1:] == 1).all()
