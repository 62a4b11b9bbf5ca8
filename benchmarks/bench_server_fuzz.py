"""Fuzz test of the web studio on loopback, against a real ``divertimento serve`` process: ``--requests`` hostile or
broken requests (bad JSON, wrong types, huge values, malformed uploads and zip bombs, path traversal and symlink
names, foreign or missing Bearer tokens, foreign Host and Origin headers, odd methods, malformed HTTP, WebSockets
with bad parameters), sent by ``--concurrency`` threads.

It reports the answers by status code and by kind of request, and checks three things:

- no 5xx other than the bounded queue's 503 with Retry-After (and no 500 in the server's log);
- no read outside the data folder: a canary file is planted next to the data folder (and symlinks to it inside the
  files folder, under piece file names); its content, /etc/passwd's and pyproject.toml's never appear in an answer;
- no listener's data touched by another: listeners A and B rate and keep pieces first; the fuzz then uses A's ids
  with B's token (and no token, broken tokens, B's ids with A's entry ids); A's and B's profiles and libraries are
  byte-identical afterwards. A third listener, C, is the fuzz's own and may change.

    python benchmarks/bench_server_fuzz.py [--quick] [--requests 10000] [--concurrency 8] [--out F.json]

``--quick``: 1,000 requests."""

import argparse
import io
import json
import random
import shutil
import socket
import tempfile
import threading
import time
import zipfile
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

from bench_server_load import Server, request

FORBIDDEN = [b"root:x:0:0", b"[project]", b"SQLite format 3"]  # /etc/passwd, pyproject.toml, the store itself
JSON_ROUTES = {  # path -> fields of its body
    "/api/generate": ["n", "seed", "style", "bars", "meter", "form", "temperature", "avoid_copies"],
    "/api/variations": ["piece_id", "n", "distance", "seed", "avoid_copies"],
    "/api/interpolate": ["a", "b", "steps"],
    "/api/continue": ["piece_id", "bars", "seed"],
    "/api/harmonise/piece": ["piece_id", "style", "seed"],
    "/api/listeners": ["name"],
    "/api/ratings": ["listener_id", "piece_id", "value"],
    "/api/for-you": ["listener_id", "n", "seed"],
}
ODD_VALUES = [None, True, False, 0, 1, -1, 2**31, 2**63, 10**30, -(10**30), 1.5, 1e308, -1e308, "", "x", "bach",
              "0" * 32, "f" * 32, "../../etc/passwd", "\u0000", "\ud7ff" * 20, "é" * 300, "a" * 70_000, [], {}, [1, 2],
              {"$gt": ""}, [[[[[]]]]], "NaN", "Infinity", "4/4", "99/0", "AABA", "Z" * 11, "1e400"]
BAD_JSON = [b"", b"{", b"}", b"{\"n\": }", b"[]", b"null", b"\"n\"", b"123", b"{\"n\": NaN}", b"{\"n\": Infinity}",
            b"{\"n\": 1, \"n\": 2}", b"\xff\xfe{\x00", b"{'n': 1}", b"{\"n\": 1,}", b"[" * 20_000 + b"]" * 20_000,
            b"{\"a\":" * 5000 + b"1" + b"}" * 5000, b"{\"n\": 1e999999}", b"{\"n\": -0}", b"\x00" * 100,
            b"{\"n\": \"\\ud800\"}", b"{\"name\": \"\\u0000\"}", b"0" * 60_000, b"{\"n\": 1" + b" " * 70_000 + b"}"]
CONTENT_TYPES = ["application/json", "text/plain", "multipart/form-data; boundary=x",
                 "application/x-www-form-urlencoded", "application/json; charset=utf-32", "", "application/json\x7f"]


class Fixture:
    """The server's known pieces, the listeners A and B (victims) and C (the fuzz's own), and the canary."""

    def __init__(self, port: int, work: Path, data: Path):
        self.port, self.work, self.data = port, work, data
        self.canary_text = f"CANARY-{random.Random().getrandbits(64):016x}-never-served"
        self.canary = work / "canary.txt"
        self.canary.write_text(self.canary_text)
        st, _, body = request(port, "POST", "/api/generate", {"n": 4, "seed": 7, "bars": 4}, timeout=300)
        assert st == 200, (st, body[:200])
        self.pieces = [p["id"] for p in json.loads(body)["pieces"]]
        self.listeners = {}
        for name in "ABC":
            st, _, body = request(port, "POST", "/api/listeners", {"name": f"fuzz-{name}"})
            made = json.loads(body)
            self.listeners[name] = (made["id"], made["token"])
        self.entries = {}
        for name in "AB":
            lid, _ = self.listeners[name]
            auth = self.auth(name)
            for k, v in ((0, 1), (1, -1)):
                st, _, _ = request(port, "POST", "/api/ratings", {"listener_id": lid, "piece_id": self.pieces[k],
                                                                   "value": v}, auth)
                assert st == 200
            st, _, body = request(port, "POST", f"/api/listeners/{lid}/library",
                                  {"piece_id": self.pieces[2], "name": f"{name}'s", "tags": ["mine"]}, auth)
            assert st == 200, body
            self.entries[name] = json.loads(body)["id"]
        # symlinks to the canary inside the files folder, under the names of piece files (one not made yet, one
        # for no piece) and one beside the store: served, they would leak it
        files = data / "files"
        self.links = [f"{self.pieces[3]}.mid", f"{self.pieces[3]}.musicxml", "0" * 32 + ".mid"]
        for name in self.links:
            (files / name).symlink_to(self.canary)
        (data / "canary-link").symlink_to(self.canary)
        self.snapshots = self.snapshot()

    def auth(self, name: str) -> dict:
        return {"Authorization": f"Bearer {self.listeners[name][1]}"}

    def snapshot(self) -> dict:
        """A's and B's profiles and libraries, as bytes."""
        out = {}
        for name in "AB":
            lid, _ = self.listeners[name]
            for what, path in (("profile", f"/api/listeners/{lid}"), ("library", f"/api/listeners/{lid}/library")):
                st, _, body = request(self.port, "GET", path, headers=self.auth(name))
                out[f"{name} {what}"] = (st, body)
        return out


# ---- request makers: each returns (kind, method, path, headers, body, host) ----

def bad_json(rng, fx):
    path = rng.choice(list(JSON_ROUTES) + [f"/api/listeners/{fx.listeners['C'][0]}/library"])
    ctype = rng.choice(CONTENT_TYPES[:1] * 4 + CONTENT_TYPES)
    headers = {"Content-Type": ctype} if ctype else {}
    return "bad json", "POST", path, headers | fx.auth("C"), rng.choice(BAD_JSON), None


def wrong_types(rng, fx):
    path = rng.choice(list(JSON_ROUTES))
    fields = JSON_ROUTES[path]
    body = {f: rng.choice(ODD_VALUES) for f in rng.sample(fields, rng.randint(1, len(fields)))}
    if rng.random() < 0.3:
        body[rng.choice(["extra", "__proto__", "n" * 200, ""])] = 1
    if "listener_id" in fields and rng.random() < 0.5:
        body["listener_id"] = fx.listeners["C"][0]
    data = json.dumps(body).encode()
    return "wrong types", "POST", path, {"Content-Type": "application/json"} | fx.auth("C"), data, None


def huge_values(rng, fx):
    path = rng.choice(list(JSON_ROUTES))
    field = rng.choice(JSON_ROUTES[path])
    value = rng.choice([10**rng.randint(10, 4000), -(10**rng.randint(10, 400)), 1e308, "x" * rng.randint(1000, 60_000),
                        ["y"] * rng.randint(1000, 10_000), {"k" * 50: list(range(5000))}])
    data = json.dumps({field: value}).encode()
    if rng.random() < 0.1:  # more digits than Python's int parser takes (4,300)
        data = f'{{"{field}": 1{"0" * rng.randint(4300, 20_000)}}}'.encode()
    elif rng.random() < 0.2:
        data = b'{"n": 1, "style": "' + b"a" * rng.randint(65_000, 300_000) + b'"}'  # over the 64 KiB cap
    return "huge values", "POST", path, {"Content-Type": "application/json"}, data, None


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "fuzzbound") -> tuple[dict, bytes]:
    out = io.BytesIO()
    for name, filename, data in parts:
        out.write(f"--{boundary}\r\n".encode())
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out.write(f"Content-Disposition: {disp}\r\n\r\n".encode("utf-8", "surrogateescape"))
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}, out.getvalue()


def zip_of(members: dict, method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def garbage_upload(rng: random.Random) -> tuple[str, bytes]:
    kind = rng.choice(["abc", "xml", "mxl", "midi", "bytes", "huge", "empty", "bomb"])
    if kind == "abc":
        body = "".join(rng.choices("ABCDEFGabcdefgz^_=/0123456789|[]()<>-'\",:!+%\n ", k=rng.randint(1, 3000)))
        head = rng.choice(["X:1\nK:C\n", "X:1\nM:0/0\nL:1/0\nK:Zz\n", "X:\nK:\n", "X:1\nT:" + "t" * 500 + "\nK:G\n",
                           "X:1\nM:999/1\nK:C\nV:1\nV:2\nV:99\n", "X:1\nK:C\n%%MIDI program 999\n"])
        return "tune.abc", (head + body).encode()
    if kind == "xml":
        tags = ["score-partwise", "part-list", "score-part", "part", "measure", "note", "pitch", "step", "octave",
                "duration", "divisions", "time", "beats", "beat-type", "rest", "chord", "tie", "voice", "backup"]
        root = rng.choice(["score-partwise", "score-timewise", "html", "score-partwise version='9'"])
        inner = "".join(f"<{t}>{rng.choice(['', '0', '-5', 'Q', '1e9', 'C', '99999999999'])}</{t}>"
                        for t in rng.choices(tags, k=rng.randint(0, 400)))
        if rng.random() < 0.3:
            inner = '<part-list><score-part id="P1"/></part-list><part id="P1"><measure number="1">' + inner + \
                "</measure></part>"
        if rng.random() < 0.2:
            inner = "<a>" * 5000 + "</a>" * 5000
        return "s.musicxml", f"<{root}>{inner}</{root.split()[0]}>".encode()
    if kind == "mxl":
        xml = b"<score-partwise><part-list/></score-partwise>"
        choice = rng.randrange(6)
        if choice == 0:  # a flipped byte in a stored member: bad CRC
            data = bytearray(zip_of({"s.xml": xml}, zipfile.ZIP_STORED))
            data[data.index(b"<score") + 3] ^= 0xFF
            return "crc.mxl", bytes(data)
        if choice == 1:  # container.xml pointing outside the archive
            return "c.mxl", zip_of({"META-INF/container.xml": b'<container><rootfiles><rootfile full-path="../../'
                                    b'etc/passwd"/></rootfiles></container>', "../x.xml": xml})
        if choice == 2:
            return "many.mxl", zip_of({f"m{i}.xml": xml for i in range(rng.randint(30, 80))})
        if choice == 3:
            return "trunc.mxl", zip_of({"s.xml": xml * 50})[: rng.randint(4, 120)]
        if choice == 4:
            return "nested.mxl", zip_of({"s.xml": zip_of({"s.xml": xml})})
        return "junk.mxl", b"PK\x03\x04" + rng.randbytes(rng.randint(0, 4000))
    if kind == "midi":
        head = b"MThd\x00\x00\x00\x06" + rng.choice([b"\x00\x01\x00\x02\x01\xe0", b"\xff\xff\xff\xff\x00\x00",
                                                    b"\x00\x00\x00\x01\x00\x00", b"\x00\x02\xff\xff\x80\x00"])
        track = b"MTrk" + rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x10", b"\x00\x00\x00\x00"])
        return "x.mid", head + track + rng.randbytes(rng.randint(0, 5000))
    if kind == "bytes":
        return rng.choice(["a.mid", "a.xml", "a.abc", "../../etc/passwd", "a" * 300, "\x00.mid"]), \
            rng.randbytes(rng.randint(1, 20_000))
    if kind == "huge":
        return "huge.mid", b"MThd" + b"\x00" * rng.choice([2**20 + 1, 2 * 2**20, 3 * 2**20])
    if kind == "bomb":
        return "bomb.mxl", zip_of({"s.xml": b"<score-partwise>" + b" " * (rng.randint(9, 40) * 2**20) +
                                   b"</score-partwise>"})
    return "empty.mid", b""


def upload(rng, fx):
    filename, data = garbage_upload(rng)
    parts = [("file", filename, data)]
    if rng.random() < 0.5:
        parts.append(("style", None, rng.choice([b"bach", b"", b"klezmer", b"x" * 100, b"../..", b"\xff"])))
    if rng.random() < 0.3:
        parts.append(("seed", None, rng.choice([b"1", b"-1", b"1e9", b"x", b"99999999999999999999"])))
    if rng.random() < 0.1:
        parts = parts[1:]  # no file at all
    headers, body = multipart(parts)
    if rng.random() < 0.05:
        headers = {"Content-Type": "multipart/form-data; boundary=other"}  # a boundary the body never uses
    return "upload", "POST", "/api/harmonise", headers, body, None


def traversal_names(fx) -> list[str]:
    c = str(fx.canary)
    names = ["../canary.txt", "../../canary.txt", "..%2fcanary.txt", "..%2f..%2fcanary.txt", "%2e%2e/canary.txt",
             "%2e%2e%2f%2e%2e%2fcanary.txt", "..%252f..%252fcanary.txt", quote(c, safe=""), c.lstrip("/"),
             "..\\..\\canary.txt", "..%5c..%5ccanary.txt", "%c0%ae%c0%ae/canary.txt", "....//....//canary.txt",
             "canary-link", "..%2fcanary-link", "studio.sqlite", "..%2fstudio.sqlite", "%2e%2e", ".", "..", "~",
             "%00", f"{fx.pieces[0]}.mid%00.png", f"{fx.pieces[0]}.mid%2f..%2f..%2fcanary.txt",
             "%2fetc%2fpasswd", "..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "..%2f..%2fpyproject.toml",
             f"{fx.pieces[0]}.MID", f"{fx.pieces[0]}.mid%20", f"{fx.pieces[0].upper()}.mid", "a" * 4000 + ".mid"]
    return names + fx.links + [quote(x, safe="") for x in fx.links]


def traversal(rng, fx):
    name = rng.choice(traversal_names(fx))
    c = str(fx.canary)
    path = rng.choice([f"/files/{name}", f"/static/{name}", f"/api/pieces/{name}", f"/{name}",
                       f"/files/{fx.pieces[0]}.mid/{name}", f"/api/listeners/{name}/library",
                       f"/files/../../{name}", f"/static/../../{name}", "//" + c.lstrip("/"), c, "/files/" + c,
                       f"/files/{name}?path={quote(c)}", "/docs/../../" + name, "/static/%2e%2e/%2e%2e/app.py"])
    return "traversal", rng.choice(["GET", "GET", "GET", "HEAD"]), path, {}, None, None


def tokens(rng, fx):
    a, a_tok = fx.listeners["A"]
    b, b_tok = fx.listeners["B"]
    entry = rng.choice([fx.entries["A"], fx.entries["B"]])
    auth = rng.choice([None, f"Bearer {b_tok}", f"Bearer {b_tok}", "Bearer", "Bearer ", f"bearer  {b_tok}",
                       f"Bearer {a_tok[:-1]}", f"Bearer {a_tok}x", f"Bearer {a_tok[:20]}", f"Basic {a_tok}",
                       f"Bearer {'A' * 5000}", "Bearer \u00e9\u00e9", f"Bearer {a_tok} {b_tok}", f"Token {a_tok}",
                       "Bearer " + "0" * 64, f"Bearer\t{b_tok}"])
    victim = rng.choice([a, a, b])  # A's and B's data with the wrong token (B's token on A's, broken ones on B's)
    if auth is not None and b_tok in auth and victim == b:  # B's own token on B's data would be B's own doing
        victim = a
    lib = f"/api/listeners/{victim}/library"
    piece = rng.choice(fx.pieces)
    method, path, body = rng.choice([
        ("GET", f"/api/listeners/{victim}", None),
        ("GET", f"/api/listeners/{victim}?token={a_tok}", None),
        ("POST", "/api/ratings", {"listener_id": victim, "piece_id": piece, "value": rng.choice([-1, 0, 1])}),
        ("POST", "/api/for-you", {"listener_id": victim, "n": 1}),
        ("GET", lib, None),
        ("POST", lib, {"piece_id": piece, "name": "stolen"}),
        ("PATCH", f"{lib}/{entry}", {"name": "stolen", "tags": ["x"]}),
        ("DELETE", f"{lib}/{entry}", None),
        ("POST", f"{lib}/{entry}/regenerate", None),
        # through B's own library (with B's token), A's entry ids find nothing
        ("DELETE", f"/api/listeners/{b}/library/{fx.entries['A']}", "B"),
        ("PATCH", f"/api/listeners/{b}/library/{fx.entries['A']}", "B"),
    ])
    headers = {"Authorization": auth} if auth is not None else {}
    if body == "B":
        headers, body = {"Authorization": f"Bearer {b_tok}"}, ({"name": "stolen"} if method == "PATCH" else None)
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        headers["Content-Type"] = "application/json"
    return "tokens", method, path, headers, data, None


def foreign_headers(rng, fx):
    host = rng.choice([None, "evil.example", "127.0.0.1.evil.example", "", "localhost:99999", "[::1", "[::1]:80",
                       "127.0.0.1:8000 evil", "a" * 3000, "LOCALHOST", "127.0.0.2", "0.0.0.0", "localhost."])
    origin = rng.choice([None, "http://evil.example", "null", "http://[::1", "file://", "http://localhost.evil.example",
                         "http://127.0.0.1@evil.example", "https://127.0.0.1.evil.example:443", "http://", "://x"])
    method, path, body = rng.choice([("GET", "/health", None), ("GET", "/api/info", None), ("GET", "/", None),
                                     ("POST", "/api/listeners", b'{"name": "x"}'),
                                     ("POST", "/api/generate", b'{"n": 1, "bars": 1}'),
                                     ("DELETE", f"/api/listeners/{fx.listeners['C'][0]}/library/{'0' * 32}", None)])
    headers = {"Content-Type": "application/json"} if body else {}
    headers |= {"Origin": origin} if origin is not None else {}
    return "host/origin", method, path, headers | fx.auth("C"), body, host


def odd_methods(rng, fx):
    path = rng.choice(["/health", "/api/generate", f"/files/{fx.pieces[0]}.mid", "/api/ratings", "/", "/nope",
                       "/api/listeners", "/" + "x" * 6000, "/health?" + "a=1&" * 2000, "/api/info?%ff%fe=%00",
                       "/api/stream"])
    method = rng.choice(["PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "PROPFIND", "GET", "POST", "CONNECT"])
    return "methods/paths", method, path, {}, None, None


MAKERS = [(bad_json, 14), (wrong_types, 16), (huge_values, 8), (upload, 14), (traversal, 16), (tokens, 16),
          (foreign_headers, 8), (odd_methods, 5)]
RAW_SHARE, WS_SHARE = 0.02, 0.005


def raw_http(rng, port) -> tuple[str, int, bytes]:
    """Malformed HTTP on a raw socket: the server answers 400 (or closes), never 5xx."""
    line = rng.choice([b"GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n", b"GARBAGE\r\n\r\n", b"GET /\x00 HTTP/1.1\r\n\r\n",
                       b"GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n",
                       b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                       b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n",
                       b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n"
                       b"\r\nab",
                       b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                       b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"y" * 70_000 + b"\r\n\r\n",
                       b"GET http://evil.example/../../canary.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"])
    out = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(line)
            s.shutdown(socket.SHUT_WR)
            while chunk := s.recv(65536):
                out += chunk
    except OSError:
        pass
    try:
        status = int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/") else 0  # 0: closed without an answer
    except (IndexError, ValueError):
        status = -1
    return "raw http", status, out


def websocket(rng, port) -> tuple[str, int, bytes]:
    """A stream with bad parameters, a foreign Origin or garbage messages: refused or answered with errors."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    query = rng.choice(["seed=-1", "tempo=1e9", "style=..%2f..", "intensity=nan", "seed=abc", "style=" + "x" * 100,
                        "seed=1&tempo=220", ""])
    origin = rng.choice([None, None, "http://evil.example"])
    got = b""
    try:
        with connect(f"ws://127.0.0.1:{port}/api/stream?{query}", open_timeout=20, close_timeout=2,
                     additional_headers={"Origin": origin} if origin else None) as ws:
            for msg in (b"\xff" * 10, "x" * 5000, json.dumps({"type": "set", "tempo": 1e308}), "[]",
                        json.dumps({"type": "stop"})):
                ws.send(msg)
            while True:
                m = ws.recv(timeout=30)
                got += m.encode() if isinstance(m, str) else m
    except InvalidStatus as e:
        return "websocket", e.response.status_code, got
    except Exception:  # closed by the server (1008 for bad parameters or Origin), or after stop: both fine
        return "websocket", 101, got
    return "websocket", 101, got


def one(i: int, seed: int, fx: Fixture) -> tuple[str, int, dict, bytes, str]:
    rng = random.Random(seed * 1_000_003 + i)
    roll = rng.random()
    if roll < RAW_SHARE:
        kind, status, body = raw_http(rng, fx.port)
        return kind, status, {}, body, "raw"
    if roll < RAW_SHARE + WS_SHARE:
        kind, status, body = websocket(rng, fx.port)
        return kind, status, {}, body, "ws"
    maker = rng.choices([m for m, _ in MAKERS], weights=[w for _, w in MAKERS])[0]
    kind, method, path, headers, body, host = maker(rng, fx)
    status, hdrs, payload = request(fx.port, method, path, body, headers, timeout=120, host=host)
    return kind, status, hdrs, payload, f"{method} {path[:120]}"


def leaks(fx: Fixture, hdrs: dict, payload: bytes) -> list[str]:
    text = payload + json.dumps(hdrs).encode()
    return [m.decode() for m in FORBIDDEN + [fx.canary_text.encode()] if m in text]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="default: the studio's shipped model")
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="1,000 requests")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.quick:
        args.requests = 1000

    work = Path(tempfile.mkdtemp(prefix="studio-fuzz-"))
    server = Server(work / "data", args.model)
    try:
        server.wait_ready()
        fx = Fixture(server.port, work, work / "data")
        by_kind: dict[str, Counter] = defaultdict(Counter)
        totals: Counter = Counter()
        errors, leaked, served = [], [], Counter()  # served: traversal attempts answered 200, by request
        lock = threading.Lock()

        def run(i):
            kind, status, hdrs, payload, what = one(i, args.seed, fx)
            found = leaks(fx, hdrs, payload)
            with lock:
                by_kind[kind][status] += 1
                totals[status] += 1
                if 500 <= status < 600 and not (status == 503 and "retry-after" in hdrs):
                    errors.append({"kind": kind, "status": status, "request": what, "answer": payload[:200].decode(
                        "utf-8", "replace")})
                if kind == "traversal" and status == 200:
                    served[what] += 1
                if found:
                    leaked.append({"kind": kind, "request": what, "found": found})

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(run, range(args.requests)))
        wall = time.perf_counter() - t0
        after = fx.snapshot()
        untouched = {k: after[k] == v for k, v in fx.snapshots.items()}
        st, _, body = request(server.port, "GET", "/health", timeout=30)
        result = {"requests": args.requests, "seconds": round(wall, 1), "rps": round(args.requests / wall, 1),
                  "by_status": {str(k): v for k, v in sorted(totals.items())},
                  "by_kind": {k: {str(s): n for s, n in sorted(c.items())} for k, c in sorted(by_kind.items())},
                  "server_errors_5xx": len(errors), "errors": errors[:20],
                  "server_500s_logged": server.internal_errors(),
                  "leaks": leaked[:20], "leak_count": len(leaked), "traversal_answered_200": dict(served),
                  "canary_intact": fx.canary.read_text() == fx.canary_text,
                  "listeners_untouched": untouched,
                  "health_after": json.loads(body)["status"] if st == 200 else st}
        print(json.dumps(result, indent=1))
        print()
        print(f"fuzz: {args.requests} requests in {result['seconds']} s ({result['rps']}/s), seed {args.seed}")
        print("by status: " + ", ".join(f"{k}: {v}" for k, v in result["by_status"].items()))
        for k, c in result["by_kind"].items():
            print(f"  {k:14s} " + ", ".join(f"{s}: {n}" for s, n in c.items()))
        print(f"5xx other than 503 with Retry-After: {len(errors)}; 500s in the server log: "
              f"{result['server_500s_logged']}")
        print(f"answers holding the canary, /etc/passwd, pyproject.toml or the store: {len(leaked)}; canary file "
              f"intact: {result['canary_intact']}")
        print("A's and B's profiles and libraries byte-identical: " +
              ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in untouched.items()))
        print(f"/health after: {result['health_after']}")
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=1))
        ok = not errors and not leaked and not result["server_500s_logged"] and all(untouched.values()) and \
            result["canary_intact"]
        return 0 if ok else 1
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
