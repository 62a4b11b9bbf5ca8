"""A readable summary of a prepared dataset."""

import json

import numpy as np

from ..music.lanes import DRUM_FAMILY_NAMES
from ..music.roll import FIRST_PITCH_TOKEN
from .dataset import PreparedData
from .split import SPLITS


def pitch_names(midi: int) -> str:
    return ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"][midi % 12] + str(midi // 12 - 1)


def summarise(data: PreparedData) -> str:
    m = data.manifest
    lines = [
        f"{data.root}: layout {m['layout']} ({', '.join(m['roles'])}), {m['steps_per_quarter']} steps/quarter, "
        f"windows of {m['window_steps']} steps (16 quarters) from a barline, "
        f"windows per meter: {', '.join(f'{k} {v}' for k, v in m['meters'].items())}",
        f"pitch range {m['pitch_range'][0]}-{m['pitch_range'][1]} "
        f"({pitch_names(m['pitch_range'][0])}-{pitch_names(m['pitch_range'][1])}), "
        f"train transposition {m['augment']['transpose']}, split seed {m['split_seed']}, hash {m['content_hash'][:12]}",
        "",
        f"{'style':<16}" + "".join(f"{sp + ' pieces':>14}{sp + ' windows':>15}" for sp in SPLITS),
    ]
    for style, v in m["styles"].items():
        lines.append(f"{style:<16}" + "".join(f"{v['pieces'][sp]:>14}{v['windows'][sp]:>15}" for sp in SPLITS)
                     + "   " + ", ".join(f"{k} {n}" for k, n in v["meters"].items()))
    rolls = np.concatenate([data.splits[sp]["rolls"] for sp in SPLITS])
    drums = np.asarray(m.get("drum_voices") or [False] * rolls.shape[1], dtype=bool)
    pitched = rolls[:, ~drums]
    pitches = pitched[pitched >= FIRST_PITCH_TOKEN].astype(np.int64) - FIRST_PITCH_TOKEN + m["pitch_range"][0]
    if len(pitches):
        hist = np.bincount(pitches // 12, minlength=11)
        total = hist.sum()
        lines += ["", "onsets per octave" + (" (pitched parts)" if drums.any() else "") + ":"]
        for octave, count in enumerate(hist):
            if count:
                lines.append(f"  C{octave - 1:<3}{count:>9}  {'#' * int(round(50 * count / total))}")
    if drums.any():
        hits = (rolls[:, drums] >= FIRST_PITCH_TOKEN).sum(axis=(0, 2))
        lines += ["", "drum hits per lane: " + ", ".join(f"{family} {int(n)}" for family, n in
                                                        zip(DRUM_FAMILY_NAMES, hits))]
    notes = m.get("notes")
    if notes and notes["placed"]:
        lines.append(f"notes kept in the parts: {notes['kept']} of {notes['placed']} "
                     f"({100 * notes['kept'] / notes['placed']:.1f} %)"
                     + (f"; notes of tracks left out: {notes['tracks_left_out']}" if notes["tracks_left_out"] else ""))
    lines += ["", f"skipped {len(m['skipped'])} source piece(s):"]
    lines += [f"  {n:>6}  {reason}" for reason, n in m["skipped_reason_counts"].items()]
    if m.get("left_out_counts"):
        lines += ["bars/windows left out inside kept pieces:"]
        lines += [f"  {n:>6}  {reason}" for reason, n in m["left_out_counts"].items()]
    return "\n".join(lines)


def track_report(data: PreparedData) -> str:
    """Per piece, each track: where it went (part, notes kept) or why it was left out (pieces.json's ``tracks``)."""
    pieces = json.loads((data.root / data.manifest["files"]["pieces"]).read_text())
    lines = ["", "tracks per piece:"]
    for p in pieces:
        lines.append(f"{p['source']} ({p['style']}, {p['windows']} windows)"
                     + (f", {p['tempo']['changes']} tempo change(s), first tempo kept"
                        if p.get("tempo", {}).get("changes") else ""))
        for t in p.get("tracks", []):
            where = f"-> {t['part']}" if t.get("part") else "left out"
            kept = f", {t['kept']} of {t['notes']} notes kept" if "kept" in t else f", {t['notes']} notes"
            why = f" ({t['left_out']})" if t.get("left_out") else ""
            drum = " [drums]" if t.get("drum") else ""
            lines.append(f"  {t['name'] or '(unnamed)'!s:<24} program {t['program']:>3}{drum} {where}{kept}{why}")
    return "\n".join(lines)
