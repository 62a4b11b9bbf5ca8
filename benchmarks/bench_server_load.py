"""Load test of the web studio on loopback, against a real ``divertimento serve`` process, in two phases:

1. mixed: ``--clients`` clients for ``--duration`` seconds mixing generate, downloads (MIDI, MusicXML, OGG),
   ratings, library calls (keep, list, rename, delete), for-you, piece look-ups and health, plus ``--streams`` live
   streams: p50/p99 per route, status counts, server errors (5xx other than the queue's 503), server RSS.
2. heavy: ``--heavy`` requests for 16 pieces of 32 bars at once, while /health is polled every 50 ms and
   ``--streams`` live streams play: /health p99 (the bar: 100 ms), every heavy request answered (200, or 429/503
   with Retry-After) before its deadline, and stream bars on time or late.

A stream bar is late when it reaches the client after the moment it should start playing: the first bar plays
0.3 s after it arrives (as the page does), each next one when the one before ends, and a late bar shifts the
clock (the listener hears a gap). The older figure, bars whose generation took longer than they last, is kept.

    python benchmarks/bench_server_load.py [--quick] [--duration 60] [--clients 20] [--heavy 48] [--out F.json]

``--quick``: 10 s of mixed load, 12 heavy requests of 4 pieces of 8 bars. The server runs with one torch thread
(``--threads 1``) and OMP_NUM_THREADS=1."""

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

START_DELAY_S = 0.3  # the page starts the first stream bar this long after it arrives (web/routes_stream.py)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_kib(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Server:
    """A ``divertimento serve`` subprocess on a free loopback port, its data in ``data`` and its log in a file (a
    pipe nobody reads would block it once full)."""

    def __init__(self, data: Path, model: str | None = None, train_data: str | None = None):
        self.port, self.data = free_port(), Path(data)
        self.log = self.data.parent / "server.log"
        cmd = [sys.executable, "-m", "divertimento.cli", "serve", "--port", str(self.port), "--data-dir",
               str(self.data), "--threads", "1"]
        cmd += ["--model", model] if model else []
        cmd += ["--train-data", train_data] if train_data else []
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self._log = open(self.log, "w")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self.pid = self.proc.pid

    def wait_ready(self, limit: float = 180.0) -> dict:
        t0 = time.time()
        while time.time() - t0 < limit:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server stopped:\n{self.log.read_text()[-3000:]}")
            st, _, body = request(self.port, "GET", "/health", timeout=2)
            if st == 200 and json.loads(body)["originality"] != "loading":
                return json.loads(body)
            time.sleep(0.5)
        raise SystemExit("the server did not come up")

    def internal_errors(self) -> int:
        """Tracebacks the server logged for a 500 (``web/headers.py`` logs each)."""
        return self.log.read_text(errors="replace").count("internal error on ")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


def request(port: int, method: str, path: str, body: bytes | dict | None = None, headers: dict | None = None,
            timeout: float = 60.0, host: str | None = None) -> tuple[int, dict, bytes]:
    """One request on a fresh connection: (status, lower-cased headers, body); status -1 for a connection error
    or a timeout. ``path`` goes out as given (no normalising), ``host`` replaces the Host header."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    hdrs = {"Content-Type": "application/json"} if isinstance(body, dict) else {}
    hdrs |= headers or {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host if host is not None else f"127.0.0.1:{port}")
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if data is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except (OSError, http.client.HTTPException):
        return -1, {}, b""
    finally:
        conn.close()


class Recorder:
    def __init__(self):
        self.records: list[tuple[str, int, float]] = []  # route, status, seconds
        self._lock = threading.Lock()

    def call(self, port: int, route: str, method: str, path: str, body=None, headers=None, timeout: float = 60.0):
        t0 = time.perf_counter()
        st, hdrs, payload = request(port, method, path, body, headers, timeout)
        with self._lock:
            self.records.append((route, st, time.perf_counter() - t0))
        return st, hdrs, payload


def pct(xs, q):
    return round(float(np.percentile(xs, q)) * 1000, 1) if len(xs) else None


def per_route(records) -> dict:
    by = defaultdict(list)
    for route, st, secs in records:
        by[route].append((st, secs))
    return {r: {"n": len(v), "p50_ms": pct([s for _, s in v], 50), "p99_ms": pct([s for _, s in v], 99),
                "statuses": dict(sorted(Counter(str(st) for st, _ in v).items()))}
            for r, v in sorted(by.items())}


def server_errors(records) -> int:
    """5xx answers other than the bounded queue's 503 (a refusal by design)."""
    return sum(1 for _, st, _ in records if 500 <= st < 600 and st != 503)


# ---- phase 1: mixed load ----

def mixed_client(port: int, i: int, until: float, rec: Recorder, pieces: list, rng: random.Random) -> None:
    st, _, body = rec.call(port, "POST /api/listeners", "POST", "/api/listeners", {"name": f"load{i}"})
    if st != 200:
        return
    me = json.loads(body)
    lid, auth = me["id"], {"Authorization": f"Bearer {me['token']}"}
    lib = f"/api/listeners/{lid}/library"
    entries: list[str] = []
    while time.time() < until:
        roll, pid = rng.random(), rng.choice(pieces)
        if roll < 0.20:
            ask = {"n": rng.randint(1, 2), "bars": rng.choice([4, 8]), "seed": rng.randrange(10**6)}
            st, hdrs, body = rec.call(port, "POST /api/generate", "POST", "/api/generate", ask)
            if st == 200:
                pieces.extend(p["id"] for p in json.loads(body)["pieces"])
        elif roll < 0.45:
            fmt = rng.choice(["mid", "musicxml", "ogg"])
            st, hdrs, _ = rec.call(port, f"GET /files/*.{fmt}", "GET", f"/files/{pid}.{fmt}")
        elif roll < 0.60:
            st, hdrs, _ = rec.call(port, "POST /api/ratings", "POST", "/api/ratings",
                                   {"listener_id": lid, "piece_id": pid, "value": rng.choice([-1, 0, 1])}, auth)
        elif roll < 0.80:
            action = rng.choice(["keep", "list", "rename", "delete"] if entries else ["keep", "list"])
            if action == "keep":
                st, hdrs, body = rec.call(port, "POST library", "POST", lib, {"piece_id": pid, "tags": ["load"]}, auth)
                if st == 200:
                    entries.append(json.loads(body)["id"])
            elif action == "list":
                st, hdrs, _ = rec.call(port, "GET library", "GET", lib, headers=auth)
            elif action == "rename":
                st, hdrs, _ = rec.call(port, "PATCH library", "PATCH", f"{lib}/{rng.choice(entries)}",
                                       {"name": f"take {rng.randrange(100)}"}, auth)
            else:
                st, hdrs, _ = rec.call(port, "DELETE library", "DELETE", f"{lib}/{entries.pop()}", headers=auth)
        elif roll < 0.85:
            st, hdrs, _ = rec.call(port, "POST /api/for-you", "POST", "/api/for-you",
                                   {"listener_id": lid, "n": 2}, auth)
        elif roll < 0.92:
            st, hdrs, _ = rec.call(port, "GET /api/pieces/*", "GET", f"/api/pieces/{pid}")
        else:
            st, hdrs, _ = rec.call(port, "GET /health", "GET", "/health")
        if st == 503:  # refused at once by the bounded queue: back off a little, as a client should
            time.sleep(min(float(hdrs.get("retry-after", 1)), 0.5) * rng.random())


# ---- live streams ----

def stream_session(port: int, stop: threading.Event, max_bars: int, tempo: float, style: str, out: list) -> None:
    """Bars until ``stop`` or ``max_bars``; each bar recorded with whether it arrived before its play time."""
    from websockets.exceptions import ConnectionClosedOK
    from websockets.sync.client import connect

    try:
        with connect(f"ws://127.0.0.1:{port}/api/stream?seed=1&tempo={tempo}&style={style}", open_timeout=30,
                     close_timeout=2) as ws:
            json.loads(ws.recv(timeout=60))  # hello
            plays = None  # when the next bar should start playing (perf_counter seconds)
            while len(out) < max_bars and not stop.is_set():
                m = json.loads(ws.recv(timeout=60))
                if m["type"] != "bar":
                    continue
                now = time.perf_counter()
                plays = now + START_DELAY_S if plays is None else plays
                late = now > plays
                out.append({"index": m["index"], "gen_ms": m["gen_ms"], "bar_ms": m["bar_ms"], "late": late,
                            "late_by_ms": round(1000 * max(0.0, now - plays), 1)})
                plays = max(plays, now) + m["bar_ms"] / 1000
            ws.send(json.dumps({"type": "stop"}))
    except ConnectionClosedOK:
        pass  # the server ended the stream in order (it answers a stop by closing)
    except Exception as e:  # reported, not raised: the load figures still matter
        out.append({"error": f"{type(e).__name__}: {e}"})


def stream_figures(outs: list[list]) -> dict:
    bars = [b for out in outs for b in out if "gen_ms" in b]
    later = [b for b in bars if b["index"] > 0]  # the first bar has no play time to miss
    return {"bars": len(bars), "on_time": sum(not b["late"] for b in later), "late": sum(b["late"] for b in later),
            "late_by_ms_max": max((b["late_by_ms"] for b in later), default=0.0),
            "gen_ms_p50": round(float(np.median([b["gen_ms"] for b in bars])), 1) if bars else None,
            "gen_ms_max": round(max((b["gen_ms"] for b in bars), default=0.0), 1),
            "gen_slower_than_bar": sum(b["gen_ms"] > b["bar_ms"] for b in bars),
            "bar_ms": bars[0]["bar_ms"] if bars else None,
            "errors": [b["error"] for out in outs for b in out if "error" in b]}


def start_streams(port: int, n: int, stop: threading.Event, max_bars: int, args):
    outs: list[list] = [[] for _ in range(n)]
    threads = [threading.Thread(target=stream_session, args=(port, stop, max_bars, args.tempo, args.stream_style,
                                                             outs[k])) for k in range(n)]
    for t in threads:
        t.start()
    return outs, threads


class RssSampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self):
        while not self.stop.wait(0.5):
            self.peak = max(self.peak, vm_kib(self.pid, "VmRSS"))


def mixed_phase(server: Server, args, pieces: list) -> dict:
    until = time.time() + args.duration
    rec, stop = Recorder(), threading.Event()
    rss = RssSampler(server.pid)
    rss.start()
    outs, streamers = start_streams(server.port, args.streams, stop, 10**6, args)
    clients = [threading.Thread(target=mixed_client, args=(server.port, i, until, rec, pieces, random.Random(i)))
               for i in range(args.clients)]
    t0 = time.perf_counter()
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    wall = time.perf_counter() - t0
    stop.set()
    for t in streamers:
        t.join(60)
    rss.stop.set()
    statuses = defaultdict(int)
    for _, st, _ in rec.records:
        statuses[str(st)] += 1
    return {"clients": args.clients, "seconds": round(wall, 1), "requests": len(rec.records),
            "throughput_rps": round(len(rec.records) / wall, 1), "server_errors_5xx": server_errors(rec.records),
            "refused_503": statuses.get("503", 0), "connection_errors": statuses.get("-1", 0),
            "status_counts": dict(sorted(statuses.items())), "per_route": per_route(rec.records),
            "rss_peak_sampled_mib": round(rss.peak / 1024, 1), "stream": stream_figures(outs)}


# ---- phase 2: heavy requests at once ----

def heavy_phase(server: Server, args) -> dict:
    port, health = server.port, Recorder()
    body = {"n": args.heavy_n, "bars": args.heavy_bars}
    done, stop_streams = threading.Event(), threading.Event()
    answers: list[tuple[int, float, str | None]] = []  # status, seconds, Retry-After
    lock = threading.Lock()

    def heavy(i):
        t0 = time.perf_counter()
        st, hdrs, _ = request(port, "POST", "/api/generate", dict(body, seed=i), timeout=args.heavy_deadline)
        with lock:
            answers.append((st, time.perf_counter() - t0, hdrs.get("retry-after")))

    def poll_health():
        while not done.is_set():
            health.call(port, "GET /health", "GET", "/health", timeout=30)
            time.sleep(0.05)

    poller = threading.Thread(target=poll_health)
    poller.start()
    threads = [threading.Thread(target=heavy, args=(i,)) for i in range(args.heavy)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(1.0)  # the queue is full now: the streams start under saturation
    outs, streamers = start_streams(port, args.streams, stop_streams, args.stream_bars, args)
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    stop_streams.set()
    for t in streamers:
        t.join(60)
    done.set()
    poller.join()
    hs = [s for _, st, s in health.records if st == 200]
    by_status = defaultdict(list)
    for st, secs, _ in answers:
        by_status[str(st)].append(secs)
    refused = [a for a in answers if a[0] in (429, 503)]
    return {"heavy": args.heavy, "body": body, "seconds": round(wall, 1),
            "answered": sum(1 for st, _, _ in answers if st in (200, 429, 503)),
            "unanswered_or_other": [st for st, _, _ in answers if st not in (200, 429, 503)],
            "refusals_with_retry_after": sum(1 for _, _, ra in refused if ra), "refusals": len(refused),
            "by_status": {k: {"n": len(v), "max_s": round(max(v), 2), "p50_s": round(float(np.median(v)), 2)}
                          for k, v in sorted(by_status.items())},
            "deadline_s": args.heavy_deadline,
            "health": {"n": len(health.records), "ok": len(hs), "p50_ms": pct(hs, 50), "p99_ms": pct(hs, 99),
                       "max_ms": pct(hs, 100)},
            "stream": stream_figures(outs)}


def table(result: dict) -> str:
    lines = []
    m, h = result["mixed"], result["heavy"]
    if m:
        rows = [("route", "n", "p50 ms", "p99 ms", "statuses")]
        for r, v in m["per_route"].items():
            rows.append((r, str(v["n"]), str(v["p50_ms"]), str(v["p99_ms"]),
                         " ".join(f"{k}:{c}" for k, c in v["statuses"].items())))
        w = [max(len(r[i]) for r in rows) for i in range(5)]
        lines += ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in rows] + [""]
        ms = m["stream"]
        lines += [
            f"mixed: {m['clients']} clients, {m['requests']} requests in {m['seconds']} s ({m['throughput_rps']}/s); "
            f"5xx other than 503: {m['server_errors_5xx']}; 503 refusals: {m['refused_503']}; connection errors: "
            f"{m['connection_errors']}; server RSS peak sampled {m['rss_peak_sampled_mib']} MiB",
            f"streams (mixed): {ms['bars']} bars of {ms['bar_ms']} ms, on time {ms['on_time']}, late {ms['late']} "
            f"(max {ms['late_by_ms_max']} ms late); gen p50 {ms['gen_ms_p50']} ms, max {ms['gen_ms_max']} ms; "
            f"errors {len(ms['errors'])}"]
    if h:
        hst = h["stream"]
        lines += [
            f"heavy: {h['heavy']} x {h['body']} at once: answered {h['answered']}/{h['heavy']} "
            f"(by status {json.dumps({k: v['n'] for k, v in h['by_status'].items()})}, slowest "
            f"{max((v['max_s'] for v in h['by_status'].values()), default=0)} s, deadline {h['deadline_s']} s); "
            f"refusals with Retry-After {h['refusals_with_retry_after']}/{h['refusals']}",
            f"/health under heavy: {h['health']['ok']}/{h['health']['n']} ok, p50 {h['health']['p50_ms']} ms, "
            f"p99 {h['health']['p99_ms']} ms, max {h['health']['max_ms']} ms",
            f"streams (heavy): {hst['bars']} bars of {hst['bar_ms']} ms, on time {hst['on_time']}, late "
            f"{hst['late']} (max {hst['late_by_ms_max']} ms late); gen p50 {hst['gen_ms_p50']} ms, max "
            f"{hst['gen_ms_max']} ms, {hst['gen_slower_than_bar']} slower than the bar; errors {len(hst['errors'])}"]
    lines += [f"server RSS: idle {result['rss_idle_mib']} MiB, VmHWM {result['rss_hwm_mib']} MiB, after "
              f"{result['rss_after_mib']} MiB; server 500s logged: {result['server_500s_logged']}; /health after: "
              f"{result['health_after']}"]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="default: the studio's shipped model")
    ap.add_argument("--train-data", default=None)
    ap.add_argument("--quick", action="store_true", help="10 s mixed, 12 heavy requests of 4 pieces of 8 bars")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of mixed load")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--heavy", type=int, default=48, help="heavy requests sent at once")
    ap.add_argument("--heavy-n", type=int, default=16)
    ap.add_argument("--heavy-bars", type=int, default=32)
    ap.add_argument("--heavy-deadline", type=float, default=75.0,
                    help="seconds a heavy request may take: the server's 60 s deadline (studio/work_queue.py) and a "
                         "margin for the model step it stops at and the answer")
    ap.add_argument("--streams", type=int, default=2)
    ap.add_argument("--stream-bars", type=int, default=24, help="bars per stream in the heavy phase")
    ap.add_argument("--stream-style", default="bach", help="a style whose home meter is 4/4 (1.2 s bars at 200 qpm)")
    ap.add_argument("--phases", default="mixed,heavy", help="which phases to run (comma-separated)")
    ap.add_argument("--tempo", type=float, default=200.0, help="stream tempo (200 qpm: 1.2 s bars of 4/4)")
    ap.add_argument("--out", default=None, help="write the figures as JSON here too")
    args = ap.parse_args(argv)
    if args.quick:
        args.duration, args.heavy, args.heavy_n, args.heavy_bars, args.stream_bars = 10.0, 12, 4, 8, 8

    work = Path(tempfile.mkdtemp(prefix="studio-load-"))
    server = Server(work / "data", args.model, args.train_data)
    try:
        health = server.wait_ready()
        st, _, body = request(server.port, "POST", "/api/generate", {"n": 4, "seed": 0}, timeout=300)
        if st != 200:
            raise SystemExit(f"warm-up generate answered {st}")
        pieces = [p["id"] for p in json.loads(body)["pieces"]]
        result = {"model": f"{health['model']}@{health['step']}", "quick": args.quick,
                  "rss_idle_mib": round(vm_kib(server.pid, "VmRSS") / 1024, 1)}
        phases = args.phases.split(",")
        result["mixed"] = mixed_phase(server, args, pieces) if "mixed" in phases else None
        result["heavy"] = heavy_phase(server, args) if "heavy" in phases else None
        st, _, body = request(server.port, "GET", "/health", timeout=10)
        result["health_after"] = json.loads(body)["status"] if st == 200 else st
        result["rss_after_mib"] = round(vm_kib(server.pid, "VmRSS") / 1024, 1)
        result["rss_hwm_mib"] = round(vm_kib(server.pid, "VmHWM") / 1024, 1)
        result["server_500s_logged"] = server.internal_errors()
        print(json.dumps(result, indent=1))
        print()
        print(table(result))
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=1))
        h = result["heavy"]
        ok = ((m := result["mixed"]) is None or m["server_errors_5xx"] == 0) and result["server_500s_logged"] == 0 \
            and (h is None or h["answered"] == h["heavy"]) and result["health_after"] == "ok"
        return 0 if ok else 1
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
