"""What ``prepare`` reads: SOURCE specs (``music21:COLLECTION`` or a path, each optionally ``=STYLE``) and the
embedded multi-style default built from the corpus inside the music21 wheel."""

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..music.read import SUFFIXES, abc_tune_numbers


@dataclass(frozen=True)
class ParseTask:
    """One piece to read: a file, and for multi-tune ABC files the tune's X: number (and, where several tunes of
    the file share that number, its position in the file)."""

    path: str
    style: str
    number: int | None = None
    index: int | None = None  # 1-based position of the tune in its file; set only where its X: number repeats

    @property
    def tune(self) -> str | None:
        """The tune's name within its file: "7", or "7@12" for the 12th tune, itself numbered 7 like another."""
        if self.number is None:
            return None
        return str(self.number) if self.index is None else f"{self.number}@{self.index}"

    @property
    def key(self) -> str:
        return self.path if self.tune is None else f"{self.path}#{self.tune}"


@dataclass(frozen=True)
class CorpusSet:
    style: str  # short lowercase name a user types
    folder: str  # folder inside music21/corpus
    pattern: str  # file-name regex inside the folder
    cap: int | None  # most pieces taken, spread evenly over the collection (keeps styles balanced)


# The embedded default. Essen's German collections are everything but the Chinese (han*) and test files.
_ESSEN_GERMAN = r"(altdeu|ballad|boehme|dva|erk|fink|kinder|zuccal)\d*\.abc$"
DEFAULT_SETS = (
    CorpusSet("bach", "bach", r"^bwv.*\.mxl$", None),
    CorpusSet("palestrina", "palestrina", r"\.krn$", 200),
    CorpusSet("folk-german", "essenFolksong", _ESSEN_GERMAN, 1500),
    CorpusSet("folk-chinese", "essenFolksong", r"^han\d\.abc$", 1500),
    CorpusSet("irish", "oneills1850", r"\.abc$", 1200),
    CorpusSet("fiddle", "ryansMammoth", r"\.abc$", 1200),
)
# music21:NAME accepts a style name of the default or a corpus folder; folders map to these style names.
COLLECTION_STYLES = {"essenFolksong": "folk", "oneills1850": "irish", "ryansMammoth": "fiddle", "airdsAirs": "airs"}

_STYLE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def corpus_root() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


def check_style(style: str) -> str:
    if not _STYLE_RE.match(style):
        raise UserError(f"style name {style!r} must be a short lowercase word (letters, digits, - or _)")
    return style


def _spread(items: list, cap: int | None) -> list:
    """At most ``cap`` items taken evenly across the list (deterministic), so a cap samples every sub-collection."""
    if cap is None or len(items) <= cap:
        return items
    step = len(items) / cap
    return [items[int(i * step)] for i in range(cap)]


def _tasks_for_files(files: list[Path], style: str) -> list[ParseTask]:
    tasks = []
    for f in files:
        if f.suffix.lower() == ".abc" and f.is_file():
            try:
                numbers = abc_tune_numbers(f)
            except OSError:
                numbers = []
            if len(numbers) > 1:
                repeated = {n for n in numbers if numbers.count(n) > 1}
                tasks += [ParseTask(str(f), style, n, i + 1 if n in repeated else None) for i, n in enumerate(numbers)]
                continue
        tasks.append(ParseTask(str(f), style))
    return tasks


def corpus_set_tasks(cs: CorpusSet, capped: bool = True) -> list[ParseTask]:
    folder = corpus_root() / cs.folder
    files = sorted(p for p in folder.iterdir() if re.search(cs.pattern, p.name))
    return _spread(_tasks_for_files(files, cs.style), cs.cap if capped else None)


def default_tasks() -> list[ParseTask]:
    return [t for cs in DEFAULT_SETS for t in corpus_set_tasks(cs)]


def _music21_tasks(name: str, style: str | None) -> list[ParseTask]:
    for cs in DEFAULT_SETS:
        if name == cs.style:
            return [ParseTask(t.path, style or cs.style, t.number, t.index) for t in corpus_set_tasks(cs, capped=False)]
    folder = corpus_root() / name
    if not re.match(r"^[A-Za-z0-9_]+$", name) or not folder.is_dir():
        known = sorted({cs.style for cs in DEFAULT_SETS} | {p.name for p in corpus_root().iterdir()
                                                            if p.is_dir() and not p.name.startswith("_")})
        raise UserError(f"unknown music21 collection {name!r}; try one of: {', '.join(known)}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES)
    return _tasks_for_files(files, style or COLLECTION_STYLES.get(name, name.lower()))


def music_paths(folder: Path, recursive: bool = True) -> list[Path]:
    """Every entry under ``folder`` named like a music file, whatever it is (a regular file, a dangling symlink, a
    pipe, a folder called x.mid), plus every subfolder that cannot be read: ``prepare`` reports each one it cannot
    use with its reason instead of dropping it unseen. Symlinked folders are not followed (no loops)."""
    found: list[Path] = []

    def unreadable(err: OSError) -> None:
        if err.filename and Path(err.filename) != folder:
            found.append(Path(err.filename))

    for root, dirs, files in os.walk(folder, onerror=unreadable):
        found += [Path(root) / n for n in files + dirs if Path(n).suffix.lower() in SUFFIXES]
        if not recursive:
            break
    return sorted(set(found))


def _path_tasks(path: Path, style: str | None) -> list[ParseTask]:
    if not path.is_dir():
        if not path.is_file():
            raise UserError(f"source {str(path)!r} is neither a music file nor a folder")
        if path.suffix.lower() not in SUFFIXES:
            raise UserError(f"source {str(path)!r} is not a music file ({', '.join(SUFFIXES)})")
        return _tasks_for_files([path], style or check_style_from_name(path.parent.name))
    try:
        subdirs = sorted(p for p in path.iterdir() if p.is_dir() and p.suffix.lower() not in SUFFIXES)
    except OSError as e:
        raise UserError(f"cannot read folder {str(path)!r}: {e.strerror}") from None
    tasks = []
    if style is None and subdirs:
        # a folder of subfolders: each subfolder is a style; loose files at the top take the folder's name
        for sub in subdirs:
            tasks += _tasks_for_files(music_paths(sub), check_style_from_name(sub.name))
        return tasks + _tasks_for_files(music_paths(path, recursive=False), check_style_from_name(path.name))
    return _tasks_for_files(music_paths(path), style or check_style_from_name(path.name))


def check_style_from_name(name: str) -> str:
    """A style name derived from a folder name: lowercased, other characters turned into '-'."""
    s = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")[:32] or "default"
    return s if s[0].isalnum() else "s" + s


def resolve_sources(specs: list[str]) -> list[ParseTask]:
    """Parse tasks for SOURCE specs; no specs means the embedded default. Raises UserError on a bad spec."""
    if not specs:
        return default_tasks()
    tasks: list[ParseTask] = []
    for spec in specs:
        target, _, style = spec.partition("=")
        style = check_style(style) if style else None
        if target.startswith("music21:"):
            tasks += _music21_tasks(target[len("music21:"):], style)
            continue
        path = Path(target).expanduser()
        if not path.exists():
            raise UserError(f"source {target!r} does not exist")
        tasks += _path_tasks(path, style)
    if not tasks:
        raise UserError(f"no music files ({', '.join(SUFFIXES)}) found in {', '.join(specs)}")
    return tasks
