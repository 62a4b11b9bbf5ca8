"""The newcomer's tour: pieces in every style from the shipped model, with audio, piano-rolls and a page."""

import html
import time
from pathlib import Path

from .atomic import write_bytes_atomic
from .sample.export import prepare_out_dir, write_piece_files
from .sample.sampler import load_sampler
from .studio.whole import sequence_engine, whole_pieces

DEMO_SEED = 7
DEMO_BARS = 16


def write_index(out: Path, entries: list[dict], title: str, model_note: str) -> Path:
    """A self-contained gallery page: every asset is a file next to it, nothing loads from the network."""
    rows = []
    for style in dict.fromkeys(e["style"] for e in entries):
        cards = []
        for e in (e for e in entries if e["style"] == style):
            f = e["files"]
            audio = next((f[k] for k in ("ogg", "wav") if k in f), None)
            cards.append(
                '<figure class="card">'
                f'<img src="{html.escape(f["png"])}" alt="piano-roll of {html.escape(e["title"])}">'
                + (f'<audio controls preload="none" src="{html.escape(audio)}"></audio>' if audio else "")
                + f'<figcaption>{html.escape(e["title"])} &middot; {e["notes"]} notes &middot; '
                f'<a href="{html.escape(f["mid"])}" download>MIDI</a></figcaption></figure>'
            )
        rows.append(f'<section><h2>{html.escape(style)}</h2><div class="row">{"".join(cards)}</div></section>')
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; background: #fafafa; color: #222; }}
h1 {{ font-weight: 600; }} h2 {{ margin-top: 2rem; text-transform: capitalize; }}
.row {{ display: flex; flex-wrap: wrap; gap: 1rem; }}
.card {{ background: white; border: 1px solid #ddd; border-radius: 6px; padding: .5rem; margin: 0; width: 420px; }}
.card img {{ width: 100%; }} .card audio {{ width: 100%; }} figcaption {{ font-size: .85rem; color: #555; }}
</style></head><body>
<h1>{html.escape(title)}</h1><p>{html.escape(model_note)}</p>
{''.join(rows)}
</body></html>
"""
    path = out / "index.html"
    write_bytes_atomic(path, page.encode())
    return path


def run_demo(out: str | Path, per_style: int = 2, model: str | None = None, audio: str = "ogg") -> Path:
    t0 = time.perf_counter()
    sampler = load_sampler(model)
    out = prepare_out_dir(out)
    formats = ["mid", audio, "png"]
    entries = []
    engine = sequence_engine(sampler)
    for style in sampler.style_names:
        pairs = [(DEMO_SEED, i) for i in range(per_style)]
        pieces = ([p for p, _, _ in whole_pieces(engine, [style] * len(pairs), pairs, DEMO_BARS)] if engine is not None
                  else sampler.generate_pieces(pairs, style=style))  # a gan or vae: one window each
        for i, piece in enumerate(pieces):
            files = write_piece_files(piece, out, f"{style}-{i + 1:02d}", formats)
            entries.append({"style": style, "title": piece.title, "notes": piece.n_notes, "files": files})
    step = sampler.header.get("step", "?")
    length = f"{DEMO_BARS}-bar" if engine is not None else "one-window"
    note = (f"{len(entries)} {length} pieces from {sampler.path.name} ({sampler.family}, step {step}), "
            f"generated in {time.perf_counter() - t0:.0f} s on this machine. Same seed, same music.")
    return write_index(out, entries, "divertimento demo", note)
