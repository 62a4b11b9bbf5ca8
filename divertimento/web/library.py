"""Each listener's library: the pieces they kept, with a name, tags, the model that drew them and the recipe that
draws them again (``studio/recipes.py``). The table is made with the store's others (``store.SCHEMA``); every query
here names the listener, so one listener's entries are invisible to another. Each write is one IMMEDIATE
transaction (``Store.conn``)."""

import json
import time

from .store import Store, new_id

MAX_ENTRIES = 2000  # kept pieces per listener
_COLUMNS = "id, piece_id, name, tags, model, settings, created"


class LibraryFull(Exception):
    pass


def _entry(row) -> dict:
    eid, pid, name, tags, model, settings, created = row
    return {"id": eid, "piece_id": pid, "name": name, "tags": json.loads(tags), "model": model,
            "settings": json.loads(settings) if settings else None, "created": created}


class Library:
    def __init__(self, store: Store):
        self.store = store

    def keep(self, lid: str, pid: str, name: str, tags: list[str], model: str, settings: dict | None) -> dict:
        """The listener's entry for piece ``pid``: a new one, or the one already there (keeping twice is keeping
        once). Raises LibraryFull past MAX_ENTRIES."""
        with self.store.conn() as c:
            row = c.execute(f"SELECT {_COLUMNS} FROM library WHERE listener_id = ? AND piece_id = ?",
                            (lid, pid)).fetchone()
            if row is not None:
                return _entry(row)
            if c.execute("SELECT COUNT(*) FROM library WHERE listener_id = ?", (lid,)).fetchone()[0] >= MAX_ENTRIES:
                raise LibraryFull(f"a library holds at most {MAX_ENTRIES} pieces; delete some first")
            row = (new_id(), pid, name, json.dumps(tags), model, json.dumps(settings) if settings else None,
                   time.time())
            c.execute(f"INSERT INTO library (listener_id, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (lid, *row))
        return _entry(row)

    def entries(self, lid: str) -> list[dict]:
        """The listener's entries, newest first."""
        rows = self.store.conn().raw.execute(
            f"SELECT {_COLUMNS} FROM library WHERE listener_id = ? ORDER BY created DESC, id", (lid,)).fetchall()
        return [_entry(r) for r in rows]

    def entry(self, lid: str, eid: str) -> dict | None:
        row = self.store.conn().raw.execute(f"SELECT {_COLUMNS} FROM library WHERE listener_id = ? AND id = ?",
                                            (lid, eid)).fetchone()
        return None if row is None else _entry(row)

    def update(self, lid: str, eid: str, name: str | None = None, tags: list[str] | None = None) -> dict | None:
        """Rename and/or re-tag an entry; None when the listener has no such entry."""
        with self.store.conn() as c:
            if name is not None:
                c.execute("UPDATE library SET name = ? WHERE listener_id = ? AND id = ?", (name, lid, eid))
            if tags is not None:
                c.execute("UPDATE library SET tags = ? WHERE listener_id = ? AND id = ?", (json.dumps(tags), lid, eid))
            row = c.execute(f"SELECT {_COLUMNS} FROM library WHERE listener_id = ? AND id = ?", (lid, eid)).fetchone()
        return None if row is None else _entry(row)

    def delete(self, lid: str, eid: str) -> bool:
        with self.store.conn() as c:
            return c.execute("DELETE FROM library WHERE listener_id = ? AND id = ?", (lid, eid)).rowcount == 1
