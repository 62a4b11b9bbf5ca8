"""What a heavy request costs, estimated from its parameters before it runs, in model windows: one window of
``n_steps`` steps drawn for one row, about 0.065 s on the idle 2-core machine (the shipped model). The
queue admits by these figures (``studio/work_queue.py``), so they follow the engine's own plan of windows
(``Engine.window_plan``, what ``extend_many`` draws): a piece grows window by window, each later window starting
from ``context_bars`` of what precedes it and adding the whole bars that fit after them.

Rows are drawn side by side, and a step costs little more for many rows than for one: measured on the shipped model,
a window of 16 rows took 1.3 times one row, of 256 rows 4.7 times; so a window of R rows counts 1 + R / 64 (pieces
times particles: the final cadence, a harmonised melody and a variation's kept cells use GIVEN_PARTICLES). A window
shorter than n_steps counts its share. Parsing and file making are counted in the same unit from their measured
times. The figures are estimates: where a parameter is not known yet (the meter drawn by a style's shares, the
length of an uploaded melody) the costliest case counts, and work the figures leave out (near-copies drawn again,
a slow machine) is what the deadline is for."""

from pathlib import Path

from ..studio.engine import GIVEN_PARTICLES, Engine
from ..studio.forms import MAX_BARS, SECTION_BARS, sections
from ..studio.phrases import CHORALE_CADENCES, KEY_PULL
from ..studio.pieces import StudioPiece
from ..studio.steering import PROPOSAL_PARTICLES
from .uploads import abc_note_count

ROWS_PER_WINDOW = 64  # rows drawn side by side that cost one more window
# one window of one row, measured on 2 threads (0.055-0.065 s over requests of 1 to 16 pieces of 4 to 32 bars, with
# and without cadences): the unit parse and file times are counted in
SECONDS_PER_WINDOW_IDLE = 0.065
ABC_S_AT_5000 = 13.0  # music21 parses 5,000 ABC notes in 13 s, and its time grows with the square of the notes
XML_BYTES_PER_S = 200 * 1024  # MusicXML parsing, roughly linear: a 1 MiB score about 5 s
FILE_SECONDS = {"mid": 0.15, "musicxml": 0.45, "png": 0.45, "ogg": 0.6}  # making a download, before its length
OGG_SECONDS_PER_BAR = 0.04  # and FluidSynth's render grows by about 0.04 s of CPU a bar


def window_cost(steps: int, n_steps: int, rows: int) -> float:
    return steps / n_steps * (1 + rows / ROWS_PER_WINDOW)


def extend_cost(engine: Engine, bar: int, before: int, new_steps: int, rows: int, particles: int,
                particles_in_last_only: bool = False) -> float:
    """Windows to add ``new_steps`` after ``before`` for ``rows`` pieces side by side, with ``particles`` each in every
    window, or only in the last one (a final cadence: only that window gives tokens)."""
    lengths = [c + n for c, n in engine.window_plan(before, new_steps, bar)]
    plain = max(1, engine.candidates)
    with_particles = max(particles, engine.candidates)
    return sum(window_cost(L, engine.n_steps, rows * (with_particles if not particles_in_last_only
                                                      or i == len(lengths) - 1 else plain))
               for i, L in enumerate(lengths))


def bars_of(engine: Engine, meter: str | None) -> list[int]:
    """Steps per bar of ``meter``, or of every meter the model knows when it is None (drawn later) or unknown."""
    names = engine.sampler.meter_names
    if meter in names:
        return [engine.bar_of(names.index(meter))]
    return [engine.bar_of(i) for i in range(len(names))]


def generate(engine: Engine, n: int, bars: int, form: str | None, meter: str | None, style: str | None = None) -> float:
    """``n`` pieces (``compose_many``): their first windows in one batch, then the bars after them, or the form's
    sections, grown side by side; the last window of the closing section with particles (the final cadence). A piece
    longer than its first window in a style with a planned key (``KEY_PULL``) or cadences (``CHORALE_CADENCES``; with
    no style named, any the model knows) has its first window drawn again with particles; with cadences, every
    window has particles."""
    worst = 0.0
    named = [style] if style else engine.style_names
    phrased = any(s in CHORALE_CADENCES for s in named)
    redrawn = phrased or any(s in KEY_PULL for s in named)
    for bar in bars_of(engine, meter):
        T = engine.n_steps // bar * bar  # the first window, cut to whole bars
        cost = window_cost(engine.n_steps, engine.n_steps, n * max(1, engine.candidates))
        last_only = not phrased
        if redrawn and bars * bar > T:
            cost += window_cost(T, engine.n_steps, n * max(GIVEN_PARTICLES, engine.candidates))
        if form:
            size = SECTION_BARS * bar
            letters = list(dict.fromkeys(form.upper()))
            have = min(size, T)
            if size > T:
                cost += extend_cost(engine, bar, T, size - T, n, GIVEN_PARTICLES, particles_in_last_only=last_only)
            for _ in letters[1:]:
                cost += extend_cost(engine, bar, have, size, n, GIVEN_PARTICLES, particles_in_last_only=last_only)
                have += size
        elif bars * bar > T:
            cost += extend_cost(engine, bar, T, bars * bar - T, n, GIVEN_PARTICLES, particles_in_last_only=last_only)
        worst = max(worst, cost)
    return worst


def variations(engine: Engine, parent: StudioPiece, n: int, distance: float) -> float:
    """``n`` variations, one after another: each section letter of the parent redrawn window by window with its kept
    cells given (particles), a letter heard again reused."""
    bar, L = parent.bar, parent.tokens.shape[1]
    particles = 1 if distance >= 1.0 and not parent.melody_locked else GIVEN_PARTICLES
    seen, one = set(), 0.0
    for letter, a, b in sections(parent.form, L, bar):
        if letter not in seen:
            seen.add(letter)
            one += extend_cost(engine, bar, a, b - a, 1, particles)
    return n * one


def interpolate(engine: Engine, steps: int) -> float:
    """``steps`` one-window morph points, each drawn with particles (its ends are given)."""
    return steps * window_cost(engine.n_steps, engine.n_steps, max(GIVEN_PARTICLES, engine.candidates))


def continue_piece(engine: Engine, parent: StudioPiece, bars: int) -> float:
    return extend_cost(engine, parent.bar, parent.tokens.shape[1], bars * parent.bar, 1, 1)


def harmonise(engine: Engine, steps: int, meter: str | None = None) -> float:
    """A melody of ``steps`` steps harmonised (``compose.harmonise``: every window gives the melody, so every window
    has particles), in ``meter`` or the costliest the model knows."""
    return max(extend_cost(engine, bar, 0, steps, 1, GIVEN_PARTICLES) for bar in bars_of(engine, meter))


def harmonise_upload(engine: Engine, path: Path) -> float:
    """Parsing a checked upload and harmonising its melody, whose length is known only once parsed: the longest the
    studio takes (MAX_BARS bars) counts."""
    if path.suffix == ".abc":
        notes = abc_note_count(path.read_text(encoding="utf-8", errors="replace"))
        parse = ABC_S_AT_5000 * (notes / 5000) ** 2 / SECONDS_PER_WINDOW_IDLE
    elif path.suffix == ".musicxml":
        parse = path.stat().st_size / XML_BYTES_PER_S / SECONDS_PER_WINDOW_IDLE
    else:  # MIDI: read by symusic, fast
        parse = 0.0
    longest = max(extend_cost(engine, bar, 0, MAX_BARS * bar, 1, GIVEN_PARTICLES) for bar in bars_of(engine, None))
    return 1.0 + parse + longest


def for_you(engine: Engine, n: int) -> float:
    """``steering.recommend``: a pool of max(4 n, 16) one-window proposals (n + 2 asked for, to replace
    near-copies), most drawn near liked pieces with particles in one batch, the rest fresh in another."""
    pool = max(4 * (n + 2), 16)
    near = int(0.7 * pool)
    T = engine.n_steps
    return (window_cost(T, T, near * max(PROPOSAL_PARTICLES, engine.candidates))
            + window_cost(T, T, (pool - near) * max(1, engine.candidates)))


def redraw(engine: Engine, kept: StudioPiece, recipe: dict) -> float:
    """A kept piece drawn again from its recipe: each step of its chain (a variation of a continuation of a piece,
    ``recipes.py``) is at most the cost of the kept piece's length with particles in every window."""
    depth = recipe.get("depth", 0) if isinstance(recipe, dict) else 0
    depth = depth if isinstance(depth, int) and 0 <= depth < 100 else 0
    return (depth + 1) * extend_cost(engine, kept.bar, 0, kept.tokens.shape[1], 1, GIVEN_PARTICLES)


def make_file(fmt: str, piece: StudioPiece) -> float:
    """A download made on first request (audio is FluidSynth's, in proportion to the piece's length)."""
    seconds = FILE_SECONDS.get(fmt, 0.15) + (OGG_SECONDS_PER_BAR * piece.n_bars if fmt == "ogg" else 0.0)
    return seconds / SECONDS_PER_WINDOW_IDLE
