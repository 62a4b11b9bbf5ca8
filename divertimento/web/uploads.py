"""Uploaded melodies, checked before any parser sees them.

Size is capped while reading. The kind is decided by content, not by the file name: MIDI (``MThd``), MusicXML
(XML whose root is a score), compressed MusicXML (.mxl, a zip: member count, total and per-member size and
compression ratio checked, the score extracted), or ABC (text with X: and K: fields). XML passes through
defusedxml first, which refuses entity declarations (billion laughs) and external entities/DTDs, before
music21 parses it. The checked bytes go to a fresh temporary folder under a fixed name: user text never becomes
a path."""

import io
import re
import tempfile
import zipfile
from pathlib import Path

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from ..errors import UserError

MAX_UPLOAD = 1 * 2**20  # bytes of an uploaded file
MAX_ABC_NOTES = 3000  # a 32-bar tune has a few hundred; music21 parses 5,000 notes in 13 s, 10,000 in 62 s
ABC_NOTE = re.compile(r"[A-Ga-g]")
ABC_QUOTED = re.compile(r'"[^"]*"|![^!]*!|\+[^+]*\+')  # chord symbols, annotations and decorations
MAX_UNZIPPED = 8 * 2**20  # bytes of the score inside an .mxl
MAX_ZIP_MEMBERS = 32
MAX_XML_ELEMENTS = 400_000


def check_xml(data: bytes) -> None:
    try:
        root = DET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as e:
        raise UserError(f"refused XML: {type(e).__name__}") from None
    except Exception as e:  # ParseError and friends
        raise UserError(f"not well-formed XML: {str(e)[:80]}") from None
    tag = root.tag.rsplit("}", 1)[-1]
    if tag not in ("score-partwise", "score-timewise"):
        raise UserError(f"XML root <{tag[:40]}> is not a MusicXML score")
    n = sum(1 for _ in root.iter())
    if n > MAX_XML_ELEMENTS:
        raise UserError(f"score too large ({n} XML elements)")


def _from_mxl(data: bytes) -> bytes:
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UserError("damaged .mxl (not a zip archive)") from None
    infos = z.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise UserError("too many files in the .mxl archive")
    if sum(i.file_size for i in infos) > MAX_UNZIPPED:
        raise UserError("the .mxl archive unpacks too large")
    names = [i.filename for i in infos]
    score = None
    if "META-INF/container.xml" in names:
        try:
            container = DET.fromstring(_read_member(z, "META-INF/container.xml"))
            for el in container.iter():
                if el.tag.rsplit("}", 1)[-1] == "rootfile" and el.get("full-path") in names:
                    score = el.get("full-path")
                    break
        except Exception:  # noqa: BLE001 - any damage in the optional container.xml: fall back to the name search below
            score = None
    if score is None:
        cands = [n for n in names if n.lower().endswith((".xml", ".musicxml")) and not n.startswith("META-INF")]
        if not cands:
            raise UserError("no score inside the .mxl archive")
        score = cands[0]
    return _read_member(z, score)


def _read_member(z: zipfile.ZipFile, name: str) -> bytes:
    info = z.getinfo(name)
    if info.file_size > MAX_UNZIPPED or (info.compress_size and info.file_size / info.compress_size > 200):
        raise UserError("suspicious compression in the .mxl archive")
    try:
        with z.open(info) as f:
            out = f.read(MAX_UNZIPPED + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as e:
        # a bad CRC, a truncated member, an unsupported compression method or an encrypted member
        raise UserError(f"damaged .mxl ({str(e)[:60] or type(e).__name__})") from None
    if len(out) > MAX_UNZIPPED:
        raise UserError("the .mxl archive unpacks too large")
    return out


def abc_note_count(text: str) -> int:
    """An upper bound on the notes of an ABC text: note letters in its body lines (not header fields such as T: or
    K:, not comments, not quoted chord symbols or annotations). music21's ABC parser takes time that grows with the
    square of the notes, so this is checked before it runs."""
    n = 0
    for line in text.splitlines():
        if len(line) > 1 and line[1] == ":" and line[0].isalpha() or line.startswith("%"):
            continue
        n += len(ABC_NOTE.findall(ABC_QUOTED.sub("", line)))
    return n


def sniff(data: bytes) -> tuple[str, bytes]:
    """(suffix, bytes to parse) for an uploaded file, or UserError."""
    if len(data) == 0:
        raise UserError("empty file")
    if len(data) > MAX_UPLOAD:
        raise UserError(f"file larger than {MAX_UPLOAD // 1024} KiB")
    if data[:4] == b"MThd":
        return ".mid", data
    if data[:4] == b"PK\x03\x04":
        xml = _from_mxl(data)
        check_xml(xml)
        return ".musicxml", xml
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        check_xml(data)
        return ".musicxml", data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if "\x00" not in text and any(line.startswith("X:") for line in text.splitlines()) and \
            any(line.startswith("K:") for line in text.splitlines()):
        notes = abc_note_count(text)
        if notes > MAX_ABC_NOTES:
            raise UserError(f"ABC tune too long ({notes} notes; at most {MAX_ABC_NOTES}: the studio harmonises up to "
                            "32 bars)")
        return ".abc", data
    raise UserError("unsupported file: send MIDI, MusicXML (.musicxml/.xml/.mxl) or ABC")


def with_checked_file(data: bytes, fn):
    """Run ``fn(path)`` on the checked upload written to a fresh temporary folder."""
    suffix, payload = sniff(data)
    with tempfile.TemporaryDirectory(prefix="divertimento-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(payload)
        return fn(path)
