"""The studio as one object: a loaded model, its training data's originality index and every composing tool,
with each returned piece scored for originality (and near-copies filtered when asked). The web app and the
``compose`` command call this; tests do too."""

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..music.read import UnreadableFile, read_piece
from ..sample.originality import Originality, resolve_data_dir
from . import compose as C
from . import recipes as R
from .engine import Engine
from .pieces import StudioPiece
from .steering import Rating, recommend
from .work_queue import DEADLINE_S, Ticket, WorkQueue

MAX_N = 16  # pieces per request
MAX_TRIES = 4  # rounds of replacement when near-copies are filtered out


@dataclass
class GenerateRequest:
    n: int = 4
    seed: int = 0
    style: str | None = None
    temperature: float | None = None
    bars: int = 4
    form: str | None = None
    avoid_copies: bool = True
    meter: str | None = None  # None: drawn by the style's shares


class Studio:
    def __init__(self, engine: Engine, train_data: str | None = None, max_parallel: int = 2, max_waiting: int = 4,
                 max_wait: float = 30.0, deadline: float = DEADLINE_S):
        self.engine = engine
        self.originality = Originality(resolve_data_dir(engine.sampler, train_data), engine.sampler.fingerprint)
        self.originality.start()
        # heavy work: bounded by count and by cost, refused fast when full, stopped at its deadline or when cancelled
        self.queue = WorkQueue(max_parallel, max_waiting, max_wait, deadline=deadline)

    # ---- helpers ----

    def temperature(self, t: float | None) -> float:
        return float(t) if t is not None else self.engine.temperature

    def score(self, pieces: list[StudioPiece]) -> list[StudioPiece]:
        e = self.engine
        figures = self.originality.score([p.tokens for p in pieces], e.low, e.n_steps, [p.bar for p in pieces])
        for p, f in zip(pieces, figures):
            p.originality = f
        return pieces

    def _filtered(self, make, n: int, avoid: bool) -> tuple[list[StudioPiece], int]:
        """``make(ks)`` -> pieces ks of an endless sequence (one batch); the first n that are not near-copies (when
        ``avoid``)."""
        out, dropped, k = [], 0, 0
        while len(out) < n and k < n * MAX_TRIES:
            batch = self.score(make(range(k, k + n - len(out))))
            k += len(batch)
            for p in batch:
                if avoid and p.originality and p.originality["near_copy"]:
                    dropped += 1
                else:
                    out.append(p)
        return out, dropped

    # ---- tools ----

    def generate(self, r: GenerateRequest, ticket: Ticket | None = None) -> tuple[list[StudioPiece], int]:
        if not 1 <= r.n <= MAX_N:
            raise UserError(f"n must be 1..{MAX_N}")
        temp = self.temperature(r.temperature)
        with self.queue.slot(ticket):
            pieces, dropped = self._filtered(lambda ks: C.compose_many(self.engine, [(r.seed, i) for i in ks],
                                                                       r.style, temp, r.bars, r.form, r.meter),
                                             r.n, r.avoid_copies)
        for p in pieces:
            p.meta["recipe"] = R.generate_recipe(r.seed, p.noise[1], r.style, temp, r.bars, r.form, r.meter)
        return pieces, dropped

    def variations(self, parent: StudioPiece, n: int, distance: float, seed: int,
                   avoid_copies: bool = True, ticket: Ticket | None = None) -> tuple[list[StudioPiece], int]:
        def make(ks):
            out = []
            for i in ks:
                p = C.variations(self.engine, parent, 1, distance, seed * 1000 + i, i + 1)[0]
                p.meta["recipe"] = R.variation_recipe(parent, distance, seed, i)
                out.append(p)
            return out

        with self.queue.slot(ticket):
            return self._filtered(make, n, avoid_copies)

    def interpolate(self, a: StudioPiece, b: StudioPiece, steps: int,
                    ticket: Ticket | None = None) -> list[StudioPiece]:
        with self.queue.slot(ticket):
            return self.score(C.interpolate(self.engine, a, b, steps))

    def continue_piece(self, parent: StudioPiece, bars: int, seed: int, ticket: Ticket | None = None) -> StudioPiece:
        with self.queue.slot(ticket):
            p = self.score([C.continue_piece(self.engine, parent, bars, seed)])[0]
        p.meta["recipe"] = R.continue_recipe(parent, bars, seed)
        return p

    def harmonise_tokens(self, melody: np.ndarray, style: str | None, seed: int, title: str,
                         temperature: float | None = None, ticket: Ticket | None = None) -> StudioPiece:
        with self.queue.slot(ticket):
            return self._harmonise(melody, style, seed, title, temperature)

    def _harmonise(self, melody: np.ndarray, style: str | None, seed: int, title: str,
                   temperature: float | None = None, meter: str | None = None,
                   tempo: float | None = None) -> StudioPiece:
        temp = self.temperature(temperature)
        p = self.score([C.harmonise(self.engine, melody, style, (seed, 0), temp, title, meter=meter,
                                    tempo=tempo)])[0]
        p.meta["recipe"] = R.harmonise_recipe(melody, style, seed, temp, title, meter, tempo)
        return p

    def harmonise_file(self, path, style: str | None, seed: int, title: str | None = None,
                       ticket: Ticket | None = None) -> StudioPiece:
        """Parsing an upload is heavy work too (music21's ABC parser grows with the square of the notes), so it
        runs in the same job slot as the harmonisation."""
        with self.queue.slot(ticket):
            try:
                piece = read_piece(path, int(self.engine.manifest["steps_per_quarter"]))
            except UnreadableFile as e:
                raise UserError(f"unreadable file: {e}") from None
            melody, info = C.melody_from_piece(piece, self.engine)
            p = self._harmonise(melody, style, seed, title or piece.title, meter=info["meter"], tempo=info["tempo"])
        p.meta["melody"] = info
        return p

    def redraw(self, recipe: dict, ticket: Ticket | None = None) -> StudioPiece:
        """A kept piece drawn again from its recipe (``recipes.py``), scored like any new piece."""
        with self.queue.slot(ticket):
            return self.score([R.redraw(self.engine, recipe)])[0]

    def for_you(self, ratings: list[Rating], n: int, seed: int, avoid_copies: bool = True,
                ticket: Ticket | None = None) -> list[StudioPiece]:
        if not 1 <= n <= MAX_N:
            raise UserError(f"n must be 1..{MAX_N}")
        with self.queue.slot(ticket):
            recs = self.score(recommend(self.engine, ratings, n + 2 if avoid_copies else n, seed,
                                        temperature=self.temperature(None)))
        if avoid_copies:
            recs = [p for p in recs if not (p.originality and p.originality["near_copy"])]
        return recs[:n]
