"""SQLite persistence: pieces (so they can be downloaded, rated, varied later), listener profiles, ratings and
each listener's library of kept pieces (its queries are in ``library.py``; its table is made here, with the others,
so an older store gains it on opening).

One connection per thread, WAL journal (readers never block the writer), a busy timeout so concurrent writers
queue instead of failing, and every write in its own transaction: concurrent ratings lose nothing."""

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from ..studio.pieces import StudioPiece

SCHEMA = """
CREATE TABLE IF NOT EXISTS pieces (
    id TEXT PRIMARY KEY, created REAL NOT NULL, header TEXT NOT NULL,
    tokens BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS listeners (id TEXT PRIMARY KEY, name TEXT NOT NULL, created REAL NOT NULL,
    token_hash TEXT);
CREATE TABLE IF NOT EXISTS ratings (
    listener_id TEXT NOT NULL REFERENCES listeners(id), piece_id TEXT NOT NULL REFERENCES pieces(id),
    value INTEGER NOT NULL CHECK (value IN (-1, 1)), created REAL NOT NULL,
    PRIMARY KEY (listener_id, piece_id));
CREATE INDEX IF NOT EXISTS pieces_created ON pieces(created);
CREATE TABLE IF NOT EXISTS library (
    id TEXT PRIMARY KEY, listener_id TEXT NOT NULL REFERENCES listeners(id),
    piece_id TEXT NOT NULL REFERENCES pieces(id), name TEXT NOT NULL, tags TEXT NOT NULL, model TEXT NOT NULL,
    settings TEXT, created REAL NOT NULL, UNIQUE (listener_id, piece_id));
CREATE INDEX IF NOT EXISTS library_listener ON library(listener_id, created);
"""
MAX_PIECES = 50_000  # pieces neither rated nor kept beyond this are forgotten, oldest first
MAX_RATINGS_USED = 200  # the most recent ratings "for you" learns from


def new_id() -> str:
    return secrets.token_hex(16)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    def __init__(self, path: str | Path):
        self.path = str(path)
        self._local = threading.local()
        self._inserts = 0
        self.conn().raw.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """A store written when the studio ran on a latent model kept each piece's latents; the sequence model's
        tools need only the tokens, so those columns go (the pieces stay, playable, rateable and variable)."""
        with self.conn() as c:
            columns = {row[1] for row in c.execute("PRAGMA table_info(pieces)")}
            for old in ("anchors", "latents"):
                if old in columns:
                    c.execute(f"ALTER TABLE pieces DROP COLUMN {old}")
            # listeners made before tokens have none, and so can no longer be used (a new one is made on the page)
            if "token_hash" not in {row[1] for row in c.execute("PRAGMA table_info(listeners)")}:
                c.execute("ALTER TABLE listeners ADD COLUMN token_hash TEXT")

    def conn(self) -> sqlite3.Connection:
        c = getattr(self._local, "conn", None)
        if c is None:
            c = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=True)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            c.execute("PRAGMA busy_timeout=30000")
            c.execute("PRAGMA foreign_keys=ON")
            self._local.conn = _Tx(c)
            c = self._local.conn
        return c

    # ---- pieces ----

    def add_pieces(self, pieces: list[StudioPiece]) -> list[str]:
        ids = [new_id() for _ in pieces]
        now = time.time()
        rows = []
        for pid, p in zip(ids, pieces):
            a = p.arrays()
            rows.append((pid, now, json.dumps(p.header()), a["tokens"]))
        with self.conn() as c:
            c.executemany("INSERT INTO pieces VALUES (?, ?, ?, ?)", rows)
        self._inserts += len(rows)
        if self._inserts >= 500:
            self._inserts = 0
            self.prune()
        return ids

    def get_piece(self, pid: str) -> StudioPiece | None:
        row = self.conn().raw.execute("SELECT header, tokens FROM pieces WHERE id = ?", (pid,)).fetchone()
        if row is None:
            return None
        return StudioPiece.from_stored(json.loads(row[0]), {"tokens": row[1]})

    def prune(self, keep: int = MAX_PIECES) -> int:
        with self.conn() as c:
            n = c.execute("SELECT COUNT(*) FROM pieces").fetchone()[0]
            if n <= keep:
                return 0
            cur = c.execute("DELETE FROM pieces WHERE id IN (SELECT id FROM pieces WHERE id NOT IN "
                            "(SELECT piece_id FROM ratings) AND id NOT IN (SELECT piece_id FROM library) "
                            "ORDER BY created LIMIT ?)", (n - keep,))
            return cur.rowcount

    # ---- listeners and ratings ----

    def add_listener(self, name: str) -> tuple[str, str]:
        """(id, token) of a new listener. The token is its secret: only its hash is stored, and every call that
        reads or changes the listener's ratings must show it (``token_matches``)."""
        lid, token = new_id(), secrets.token_urlsafe(32)
        with self.conn() as c:
            c.execute("INSERT INTO listeners VALUES (?, ?, ?, ?)", (lid, name, time.time(), _hash(token)))
        return lid, token

    def token_matches(self, lid: str, token: str) -> bool:
        row = self.conn().raw.execute("SELECT token_hash FROM listeners WHERE id = ?", (lid,)).fetchone()
        return bool(row and row[0]) and hmac.compare_digest(row[0], _hash(token))

    def get_listener(self, lid: str) -> dict | None:
        raw = self.conn().raw
        row = raw.execute("SELECT id, name, created FROM listeners WHERE id = ?", (lid,)).fetchone()
        if row is None:
            return None
        ratings = raw.execute("SELECT piece_id, value FROM ratings WHERE listener_id = ? ORDER BY created DESC",
                              (lid,)).fetchall()
        return {"id": row[0], "name": row[1], "created": row[2],
                "likes": sum(1 for _, v in ratings if v > 0), "dislikes": sum(1 for _, v in ratings if v < 0),
                "ratings": [{"piece_id": p, "value": v} for p, v in ratings]}

    def rate(self, lid: str, pid: str, value: int) -> None:
        """value +1 / -1 sets the listener's rating of the piece, 0 removes it (an upsert, atomic)."""
        with self.conn() as c:
            if value == 0:
                c.execute("DELETE FROM ratings WHERE listener_id = ? AND piece_id = ?", (lid, pid))
            else:
                c.execute("INSERT INTO ratings VALUES (?, ?, ?, ?) ON CONFLICT(listener_id, piece_id) "
                          "DO UPDATE SET value = excluded.value, created = excluded.created",
                          (lid, pid, value, time.time()))

    def rated_pieces(self, lid: str, limit: int = MAX_RATINGS_USED) -> list[tuple[StudioPiece, int]]:
        rows = self.conn().raw.execute(
            "SELECT p.header, p.tokens, r.value FROM ratings r JOIN pieces p "
            "ON p.id = r.piece_id WHERE r.listener_id = ? ORDER BY r.created DESC LIMIT ?", (lid, limit)).fetchall()
        return [(StudioPiece.from_stored(json.loads(h), {"tokens": t}), v) for h, t, v in rows]

    def count_ratings(self, lid: str | None = None) -> int:
        raw = self.conn().raw
        if lid is None:
            return raw.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]
        return raw.execute("SELECT COUNT(*) FROM ratings WHERE listener_id = ?", (lid,)).fetchone()[0]


class _Tx:
    """``with store.conn() as c:`` runs the block in one IMMEDIATE transaction (the write lock is taken up
    front, so two writers never deadlock upgrading read locks)."""

    def __init__(self, raw: sqlite3.Connection):
        self.raw = raw

    def __enter__(self) -> sqlite3.Connection:
        self.raw.execute("BEGIN IMMEDIATE")
        return self.raw

    def __exit__(self, exc_type, exc, tb) -> None:
        self.raw.execute("ROLLBACK" if exc_type else "COMMIT")
