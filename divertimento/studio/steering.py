"""Personalised generation: new pieces steered toward what a listener liked, without repeating it.

Proposals are variations of liked pieces (each (voice, bar) cell of a liked piece's first window redrawn with
probability 0.4-0.75 so that the redrawn cells fit the kept ones, ``Engine.windows``: a proposal is related to a
liked piece but not the same music) plus fresh pieces in the styles the listener likes (a Beta(1 + likes,
1 + dislikes) estimate per style). Proposals are ranked by a preference model fitted to the listener's ratings on
simple musical features of the rated pieces (style, register, density, note lengths, span, rests): L2-regularised
logistic regression once there are likes and dislikes, closeness to the liked pieces' mean while there are only
likes. The ranked list is then thinned for diversity: a proposal is skipped when it shares >= ``MAX_SIMILAR`` of its
notes with one already chosen, or >= 0.8 (a near-copy) with a liked piece. A share ``explore`` of the slots goes to
fresh pieces so the profile keeps learning.
"""

from dataclasses import dataclass

import numpy as np

from ..metrics.copies import build_copy_index, copy_scores
from ..metrics.decode import decode as decode_windows
from ..metrics.decode import to_absolute
from ..models.smc import FREE
from ..music.roll import FIRST_PITCH_TOKEN, REST
from ..sample.draw import piece_seed
from .engine import Engine, rng_for
from .pieces import StudioPiece

PROPOSAL_PARTICLES = 4  # particles per proposal near a liked piece (a pool of proposals, ranked afterwards)
MAX_SIMILAR = 0.5  # two recommendations may share at most this share of their notes
REPEAT = 0.8  # a recommendation sharing this much with a liked piece is a repeat, not a recommendation


@dataclass
class Rating:
    piece: StudioPiece
    value: int  # +1 like, -1 dislike


def first_window(tokens: np.ndarray, T: int) -> np.ndarray:
    """A piece's first ``T`` steps, padded with rests when it is shorter (a piece of whole 3/4 bars is 60 steps
    where a window is 64), so pieces of any meter compare as windows."""
    out = np.zeros((tokens.shape[0], T), dtype=tokens.dtype)
    out[:, : min(T, tokens.shape[1])] = tokens[:, :T]
    return out


def features(tokens: np.ndarray, style: int, n_styles: int, low: int) -> np.ndarray:
    """Musical features of one window [V, T] for the preference model (a listener rates music, not model state)."""
    V, T = tokens.shape
    onset = tokens >= FIRST_PITCH_TOKEN
    pitches = tokens[onset].astype(np.float64) - FIRST_PITCH_TOKEN + low
    sop = tokens[0][tokens[0] >= FIRST_PITCH_TOKEN].astype(np.float64) - FIRST_PITCH_TOKEN + low
    bars = T / 16
    n = onset.sum()
    f = np.zeros(n_styles + 7)
    f[style] = 1.0
    f[n_styles + 0] = sop.mean() / 12 if len(sop) else 5.0
    f[n_styles + 1] = pitches.mean() / 12 if len(pitches) else 5.0
    f[n_styles + 2] = n / bars / 8
    f[n_styles + 3] = len(sop) / bars / 4
    f[n_styles + 4] = (tokens != REST).sum() / max(n, 1) / 4  # mean sounding steps per note
    f[n_styles + 5] = (pitches.max() - pitches.min()) / 12 if len(pitches) else 0.0
    f[n_styles + 6] = (tokens == REST).mean()
    return f


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 25) -> np.ndarray:
    """Weights [D + 1] (last = bias) of L2-regularised logistic regression by Newton's method."""
    Xb = np.concatenate([X, np.ones((len(X), 1))], axis=1)
    w = np.zeros(Xb.shape[1])
    reg = l2 * np.eye(Xb.shape[1])
    reg[-1, -1] = 1e-6
    for _ in range(iters):
        p = 0.5 * (1 + np.tanh(0.5 * (Xb @ w)))  # the logistic function, without exp's overflow for large |x|
        g = Xb.T @ (p - y) + reg @ w
        H = (Xb * (p * (1 - p))[:, None]).T @ Xb + reg
        w -= np.linalg.solve(H, g)
    return w


def similarity(a: np.ndarray, b: np.ndarray, low: int, spq: int = 4) -> np.ndarray:
    """[len(a)] best near-copy score of each window of ``a`` [n, V, T] against the windows ``b`` [m, V, T]."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros(len(a))
    ia = build_copy_index(decode_windows(to_absolute(a, low)), spq, ngrams=False)
    ib = build_copy_index(decode_windows(to_absolute(b, low)), spq, ngrams=False)
    return copy_scores(ia, ib, candidates=len(b))[0]


def style_weights(engine: Engine, ratings: list[Rating]) -> np.ndarray:
    names = engine.style_names
    likes = np.zeros(len(names))
    dislikes = np.zeros(len(names))
    for r in ratings:
        (likes if r.value > 0 else dislikes)[names.index(r.piece.style)] += 1
    post = (1 + likes) / (2 + likes + dislikes)  # posterior mean chance of liking each style
    w = np.asarray(engine.sampler.style_shares) * post**2
    return w / w.sum()


def recommend(engine: Engine, ratings: list[Rating], n: int, seed: int, temperature: float = 1.0,
              pool: int | None = None, explore: float = 0.125, use_model: bool = True) -> list[StudioPiece]:
    """n one-window pieces for a listener with these ratings (see the module docstring)."""
    rng = np.random.default_rng(piece_seed(seed, 99))
    names = engine.style_names
    T = engine.n_steps
    M = pool or max(4 * n, 16)
    liked = [r.piece for r in ratings if r.value > 0]
    sw = style_weights(engine, ratings)
    styles = [0] * M
    meters = [0] * M
    origin = ["fresh"] * M
    tokens = np.zeros((M, engine.n_voices, T), dtype=np.int64)
    near = list(range(int(0.7 * M))) if liked else []
    if near:
        given = np.full((len(near), engine.n_voices, T), FREE, dtype=np.int64)
        for row, c in enumerate(near):
            j = int(rng.integers(len(liked)))
            src = liked[j].tokens[:, :T].astype(np.int64)
            bar = liked[j].bar
            keep = np.repeat(rng.random((engine.n_voices, -(-src.shape[1] // bar))) >= rng.uniform(0.4, 0.75),
                             bar, axis=1)[:, : src.shape[1]]
            given[row, :, : src.shape[1]] = np.where(keep, src, FREE)
            styles[c] = names.index(liked[j].style)
            meters[c] = engine.meter_index(liked[j].meter)
            origin[c] = f"near {liked[j].title}"
        tokens[near] = engine.windows([styles[c] for c in near], given, rng_for(seed, 3), PROPOSAL_PARTICLES,
                                      temperature=temperature, meters=[meters[c] for c in near])
    fresh = [c for c in range(M) if origin[c] == "fresh"]
    draws = [engine.sampler.draw(piece_seed(seed, 5), c, style=names[int(rng.choice(len(names), p=sw))],
                                 options=engine.options)
             for c in fresh]
    for c, d in zip(fresh, draws):
        styles[c], meters[c] = d.style, d.meter
    if fresh:
        s = engine.sampler
        tokens[fresh] = s.tokens_from_draws(draws, temperature, s.strict_voice_leading, s.options())
    tokens = tokens.astype(np.uint8)
    F = np.stack([features(t, s, len(names), engine.low) for t, s in zip(tokens, styles)])
    mu, sd = F.mean(0), F.std(0) + 1e-6
    score = rng.random(M) * 1e-3  # ties broken at random
    rated = [r for r in ratings]
    if use_model and rated:
        X = np.stack([features(first_window(r.piece.tokens, T), names.index(r.piece.style), len(names),
                               engine.low) for r in rated])
        y = np.asarray([1.0 if r.value > 0 else 0.0 for r in rated])
        if 0 < y.sum() < len(y):
            w = fit_logistic((X - mu) / sd, y)
            score = score + ((F - mu) / sd) @ w[:-1] + w[-1]
        elif y.sum() == len(y):
            centre = ((X - mu) / sd).mean(0)
            score = score - np.linalg.norm((F - mu) / sd - centre, axis=1)
    n_explore = int(round(explore * n)) if ratings else 0
    order = list(np.argsort(-score))
    explore_pick = list(rng.permutation(fresh)[:n_explore]) if n_explore else []
    liked_tokens = (np.stack([first_window(p.tokens, T) for p in liked]) if liked
                    else np.zeros((0,) + tokens.shape[1:], np.uint8))
    rep = similarity(tokens, liked_tokens, engine.low)  # [M] closeness to the nearest liked piece
    chosen: list[int] = []
    for c in explore_pick + [c for c in order if c not in explore_pick]:
        if len(chosen) == n:
            break
        if rep[c] >= REPEAT:
            continue
        if chosen and similarity(tokens[c : c + 1], tokens[chosen], engine.low)[0] >= MAX_SIMILAR:
            continue
        chosen.append(int(c))
    for c in order:  # a pool too uniform to fill n slots: fill with the best remaining
        if len(chosen) == n:
            break
        if c not in chosen:
            chosen.append(int(c))
    out = []
    for k, c in enumerate(chosen):
        whole = T // engine.bar_of(meters[c]) * engine.bar_of(meters[c])  # whole bars of the piece's meter
        out.append(StudioPiece(tokens[c][:, :whole].astype(np.uint8), names[styles[c]], "A", (seed, c),
                               temperature, "for-you", f"for you {seed}.{k + 1} ({names[styles[c]]})",
                               meta={"origin": origin[c] if c not in explore_pick else "explore",
                                     "score": round(float(score[c]), 3), "closest_liked": round(float(rep[c]), 3)},
                               meter=engine.sampler.meter_names[meters[c]]))
    return out
