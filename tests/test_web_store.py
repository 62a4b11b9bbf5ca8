"""SQLite persistence under concurrency, and the serve command from the outside."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np

from divertimento.studio.pieces import StudioPiece
from divertimento.web.library import Library
from divertimento.web.store import Store


def piece(k: int) -> StudioPiece:
    tok = np.full((4, 64), k % 50 + 2, np.uint8)
    return StudioPiece(tok, "bach", "A", (k, 0), 1.0, "generated", f"p{k}", meta={"k": k})


def test_pieces_round_trip(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    (pid,) = store.add_pieces([piece(7)])
    back = store.get_piece(pid)
    assert np.array_equal(back.tokens, piece(7).tokens)
    assert back.meta == {"k": 7} and back.noise == (7, 0) and store.get_piece("0" * 32) is None


def test_a_store_from_the_latent_studio_keeps_its_pieces(tmp_path):
    """A store written when pieces carried GAN latents: the latent columns go, the pieces and ratings stay."""
    import sqlite3

    path = tmp_path / "old.sqlite"
    c = sqlite3.connect(path)
    c.executescript("""CREATE TABLE pieces (id TEXT PRIMARY KEY, created REAL NOT NULL, header TEXT NOT NULL,
                       tokens BLOB NOT NULL, anchors BLOB NOT NULL, latents BLOB NOT NULL);""")
    header = dict(piece(3).header(), z_dim=16)
    c.execute("INSERT INTO pieces VALUES (?, ?, ?, ?, ?, ?)", ("a" * 32, 1.0, json.dumps(header),
                                                               piece(3).tokens.tobytes(), b"\0" * 64, b"\0" * 64))
    c.commit()
    c.close()
    store = Store(path)
    assert np.array_equal(store.get_piece("a" * 32).tokens, piece(3).tokens)
    (pid,) = store.add_pieces([piece(4)])
    assert store.get_piece(pid).title == "p4"
    cols = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(pieces)")]
    assert cols == ["id", "created", "header", "tokens"]
    # the old store gains an empty library, and its old piece can be kept
    lid, _ = store.add_listener("x")
    Library(store).keep(lid, "a" * 32, "old one", [], "m@1", None)
    assert [e["name"] for e in Library(store).entries(lid)] == ["old one"]


def test_concurrent_ratings_lose_no_writes(tmp_path):
    path = tmp_path / "s.sqlite"
    store = Store(path)
    pids = store.add_pieces([piece(k) for k in range(40)])
    listeners = [store.add_listener(f"l{i}")[0] for i in range(8)]
    errors = []

    def worker(i):
        try:
            for j, pid in enumerate(pids):
                store.rate(listeners[i], pid, 1 if (i + j) % 3 else -1)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count_ratings() == 8 * 40
    # a second connection (another process would see the same) reads every write
    other = Store(path)
    for i, lid in enumerate(listeners):
        prof = other.get_listener(lid)
        assert prof["likes"] + prof["dislikes"] == 40
        assert prof["dislikes"] == sum(1 for j in range(40) if (i + j) % 3 == 0)
    # concurrent changes of the same rating: the last write wins, there is still exactly one row
    barrier = threading.Barrier(6)

    def flip(v):
        barrier.wait()
        for _ in range(20):
            store.rate(listeners[0], pids[0], v)

    ts = [threading.Thread(target=flip, args=(1 if k % 2 else -1,)) for k in range(6)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert store.count_ratings(listeners[0]) == 40
    assert os.path.exists(str(path) + "-wal")  # WAL journal in use


def test_prune_keeps_rated_pieces(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    pids = store.add_pieces([piece(k) for k in range(10)])
    lid, token = store.add_listener("x")
    assert store.token_matches(lid, token) and not store.token_matches(lid, token + "x")
    store.rate(lid, pids[0], 1)
    assert store.prune(keep=3) == 7
    assert store.get_piece(pids[0]) is not None and store.count_ratings(lid) == 1


def test_prune_keeps_pieces_in_a_library_and_entries_survive_reopening(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    pids = store.add_pieces([piece(k) for k in range(6)])
    lid, _ = store.add_listener("x")
    other, _ = store.add_listener("y")
    entry = Library(store).keep(lid, pids[1], "second", ["a", "b"], "m@1", {"tool": "generate", "seed": 1})
    assert store.prune(keep=2) == 4  # 6 pieces, 1 kept: the 4 oldest others go, the kept one stays
    again = Library(Store(tmp_path / "s.sqlite"))  # a fresh connection, as after a restart
    assert again.entries(lid) == [entry] and again.entries(other) == []
    assert again.entry(other, entry["id"]) is None and not again.delete(other, entry["id"])
    assert again.update(other, entry["id"], name="mine") is None and again.entry(lid, entry["id"])["name"] == "second"
    assert store.get_piece(pids[1]) is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_command(tiny_run, tiny_mle_run, small_data, tmp_path):
    from divertimento.cli import main

    assert main(["serve", "--model", str(tiny_mle_run), "--port", "0"]) == 2
    assert main(["serve", "--model", str(tiny_run), "--data-dir", str(tmp_path / "d")]) == 2  # a latent model
    assert main(["serve", "--model", str(tmp_path / "missing"), "--data-dir", str(tmp_path / "d")]) == 2
    assert main(["serve", "--model", str(tiny_mle_run), "--deadline", "1", "--data-dir", str(tmp_path / "d")]) == 2
    port = free_port()
    cmd = [sys.executable, "-m", "divertimento.cli", "serve", "--model", str(tiny_mle_run), "--port", str(port),
           "--data-dir", str(tmp_path / "data"), "--train-data", str(small_data)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 40
        health = None
        while time.time() < deadline and health is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    health = json.loads(r.read())
            except OSError:
                time.sleep(0.3)
        assert health and health["status"] == "ok", proc.stdout.read() if proc.poll() is not None else ""
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/generate", data=b'{"n": 1}', method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert len(json.loads(r.read())["pieces"]) == 1
        assert (tmp_path / "data" / "studio.sqlite").is_file()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
