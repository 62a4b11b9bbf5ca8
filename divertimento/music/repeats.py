"""Repeat signs in a score: a strain played twice note for note is written once between repeat barlines, as fiddle
and pipe tunes are printed, instead of twice. Where the second time is the piece's last bar, cut short after a
pickup, the strain ends in first and second endings (voltas). The MIDI file keeps every bar as it sounds; a score
expanded by its repeats (music21's ``expandRepeats``) plays the same notes."""


def fold_repeats(part, repeats: list[list[int]], first_full: int, m21) -> None:
    """Write the repeats of ``part`` (a music21 Part laid out in measures): each [a, n] of ``repeats`` says that the
    n full bars from full bar a (0 = the first full bar, measure ``first_full`` of the part) are heard again at once
    after themselves; [a, n, 1]: the second hearing ends the piece in a last bar of its own. The second hearing's
    measures go; the first is framed by repeat barlines. A second hearing that ends the piece on a shorter measure,
    or on a last bar of its own, keeps that measure as the second ending, and the first hearing's last measure
    becomes the first ending. Later measures move earlier and are numbered again."""
    measures = list(part.getElementsByClass(m21.stream.Measure))
    drop: set[int] = set()
    for a, n, *own in sorted(repeats):
        first, copy = first_full + a, first_full + a + n
        if copy + n > len(measures) or n < 1:
            continue
        last, again = measures[copy - 1], measures[copy + n - 1]
        short = copy + n == len(measures) and (again.duration.quarterLength < last.duration.quarterLength
                                               or bool(own and own[0]))
        measures[first].leftBarline = m21.bar.Repeat(direction="start")
        last.rightBarline = m21.bar.Repeat(direction="end")
        drop.update(range(copy, copy + n - (1 if short else 0)))
        if short:  # the last bar of the first time round, then the piece's own last bar
            part.insert(0, m21.spanner.RepeatBracket(last, number=1))
            part.insert(0, m21.spanner.RepeatBracket(again, number=2))
            again.rightBarline = m21.bar.Barline("final")
    shift = 0.0
    number = measures[0].number
    for i, m in enumerate(measures):
        if i in drop:
            shift += m.duration.quarterLength
            part.remove(m)
            continue
        if shift:
            part.coreSetElementOffset(m, m.offset - shift)
        m.number = number
        number += 1
    part.coreElementsChanged()
