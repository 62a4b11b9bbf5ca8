"""Load test of the web studio on loopback: concurrent clients mixing valid and invalid requests, plus live
streams, against a real ``divertimento serve`` process. Bounded in request count and time.

    python benchmarks/bench_server_load.py [--model PATH] [--clients 20] [--requests 12] [--streams 2]

Reports p50/p99 latency (all requests and per kind), status counts, the number of server errors (5xx other than
503; must be 0), the number of fast refusals (503 with Retry-After from the bounded queue), the server's peak
resident memory (VmHWM) before and after the load, and for the streams each bar's generation time against its
duration."""

import argparse
import json
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict

import numpy as np


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Client:
    def __init__(self, base: str, deadline: float):
        self.base, self.deadline = base, deadline
        self.records: list[tuple[str, int, float]] = []  # kind, status, seconds

    def call(self, kind: str, method: str, path: str, body=None, raw: bytes | None = None, ctype="application/json",
             token: str | None = None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": ctype} | ({"Authorization": f"Bearer {token}"} if token else {})
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=max(1.0, self.deadline - time.time())) as r:
                status, payload = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, payload = e.code, e.read()
        except OSError:
            status, payload = -1, b""  # connection error or timeout: counted separately
        self.records.append((kind, status, time.perf_counter() - t0))
        return status, payload


def client_session(c: Client, i: int, n_requests: int, rng: random.Random, shared: dict) -> None:
    mine: list[str] = []
    listener = token = None
    for k in range(n_requests):
        if time.time() > c.deadline:
            return
        roll = rng.random()
        if roll < 0.30:
            st, body = c.call("generate", "POST", "/api/generate", {"n": rng.randint(1, 2), "seed": i * 100 + k})
            if st == 200:
                mine += [p["id"] for p in json.loads(body)["pieces"]]
                shared.setdefault("ids", []).extend(mine[-1:])
        elif roll < 0.45:
            bad = rng.choice([{"n": 10**7}, {"n": -1}, {"n": "many"}, {"truncation": 1e9, "n": 1},
                              {"n": 1, "style": "klezmer"}, {"n": 1, "form": "ZZZ"}, {"n": 1, "extra": 1}])
            c.call("invalid", "POST", "/api/generate", bad)
        elif roll < 0.50:
            c.call("invalid", "POST", "/api/generate", raw=b"{broken json")
        elif roll < 0.55:
            c.call("oversized", "POST", "/api/generate", raw=b'{"n": 1, "style": "' + b"a" * 200_000 + b'"}')
        elif roll < 0.62:
            path = rng.choice(["/files/..%2f..%2fpyproject.toml", "/static/..%2f..%2fpyproject.toml",
                               "/files/" + "0" * 32 + ".mid", "/api/pieces/" + "f" * 32, "/nope"])
            c.call("traversal/404", "GET", path)
        elif roll < 0.70:
            c.call("health", "GET", "/health")
        elif roll < 0.78 and mine:
            c.call("file", "GET", f"/files/{rng.choice(mine)}.mid")
        elif roll < 0.86 and mine:
            c.call("variations", "POST", "/api/variations", {"piece_id": rng.choice(mine), "n": 2, "distance": 0.3})
        elif roll < 0.95 and mine:
            if listener is None:
                st, body = c.call("listener", "POST", "/api/listeners", {"name": f"load{i}"})
                if st == 200:
                    listener, token = json.loads(body)["id"], json.loads(body)["token"]
            if listener:
                c.call("rating", "POST", "/api/ratings", {"listener_id": listener, "piece_id": rng.choice(mine),
                                                          "value": rng.choice([-1, 1])}, token=token)
        elif listener:
            c.call("for-you", "POST", "/api/for-you", {"listener_id": listener, "n": 2}, token=token)
        else:
            c.call("health", "GET", "/health")


def stream_session(base: str, bars: int, out: list, tempo: float) -> None:
    from websockets.sync.client import connect

    url = base.replace("http", "ws") + f"/api/stream?seed=1&tempo={tempo}"
    try:
        with connect(url, open_timeout=20, close_timeout=2) as ws:
            json.loads(ws.recv(timeout=30))  # hello
            got = 0
            last = time.perf_counter()
            while got < bars:
                m = json.loads(ws.recv(timeout=30))
                if m["type"] == "bar":
                    now = time.perf_counter()
                    out.append({"gen_ms": m["gen_ms"], "bar_ms": m["bar_ms"], "gap_ms": 1000 * (now - last),
                                "index": m["index"]})
                    last = now
                    got += 1
                    if got == bars // 2:
                        ws.send(json.dumps({"type": "set", "intensity": 0.9, "style": None}))
            ws.send(json.dumps({"type": "stop"}))
    except Exception as e:  # reported, not raised: the load figures still matter
        out.append({"error": f"{type(e).__name__}: {e}"})


def pct(xs, q):
    return round(float(np.percentile(xs, q)) * 1000, 1) if len(xs) else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--train-data", default=None)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=12, help="requests per client")
    ap.add_argument("--streams", type=int, default=2)
    ap.add_argument("--stream-bars", type=int, default=12)
    ap.add_argument("--tempo", type=float, default=200.0, help="stream tempo (fast = more bars per second)")
    ap.add_argument("--time-limit", type=float, default=240.0, help="seconds for the whole load")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    port = free_port()
    data = tempfile.mkdtemp(prefix="studio-load-")
    cmd = [sys.executable, "-m", "divertimento.cli", "serve", "--port", str(port), "--data-dir", data]
    if args.model:
        cmd += ["--model", args.model]
    if args.train_data:
        cmd += ["--train-data", args.train_data]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.time()
        while time.time() - t0 < 90:
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as r:
                    health = json.loads(r.read())
                    if health["originality"] != "loading":
                        break
            except OSError:
                if server.poll() is not None:
                    print(server.stdout.read())
                    return 1
            time.sleep(0.5)
        warm = Client(base, time.time() + 60)
        warm.call("warm-up", "POST", "/api/generate", {"n": 1, "seed": 0})
        rss_idle = vm_kib(server.pid, "VmRSS")
        deadline = time.time() + args.time_limit
        clients = [Client(base, deadline) for _ in range(args.clients)]
        shared: dict = {}
        stream_out: list[list] = [[] for _ in range(args.streams)]
        threads = [threading.Thread(target=client_session, args=(c, i, args.requests, random.Random(i), shared))
                   for i, c in enumerate(clients)]
        threads += [threading.Thread(target=stream_session, args=(base, args.stream_bars, stream_out[k], args.tempo))
                    for k in range(args.streams)]
        t_load = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(1.0, deadline - time.time() + 30))
        wall = time.perf_counter() - t_load
        records = [r for c in clients for r in c.records]
        by_kind = defaultdict(list)
        for kind, status, secs in records:
            by_kind[kind].append((status, secs))
        statuses = defaultdict(int)
        for _, s, _ in records:
            statuses[str(s)] += 1
        bars = [b for out in stream_out for b in out if "gen_ms" in b]
        result = {
            "clients": args.clients, "requests": len(records), "wall_s": round(wall, 1),
            "throughput_rps": round(len(records) / wall, 1) if wall else None,
            "p50_ms": pct([s for _, _, s in records], 50), "p99_ms": pct([s for _, _, s in records], 99),
            # 503 is the bounded queue refusing at once (Retry-After), by design; any other 5xx is a bug
            "server_errors_5xx": sum(v for k, v in statuses.items() if k.startswith("5") and k != "503"),
            "refused_503": statuses.get("503", 0),
            "connection_errors": statuses.get("-1", 0), "status_counts": dict(sorted(statuses.items())),
            "per_kind": {k: {"n": len(v), "p50_ms": pct([s for _, s in v], 50), "p99_ms": pct([s for _, s in v], 99),
                             "statuses": sorted({st for st, _ in v})} for k, v in sorted(by_kind.items())},
            "server_rss_idle_mib": round(rss_idle / 1024, 1),
            "server_rss_after_mib": round(vm_kib(server.pid, "VmRSS") / 1024, 1),
            "server_peak_rss_mib": round(vm_kib(server.pid, "VmHWM") / 1024, 1),
            "stream": {"bars": len(bars),
                       "gen_ms_p50": round(float(np.median([b["gen_ms"] for b in bars])), 1) if bars else None,
                       "gen_ms_max": round(max(b["gen_ms"] for b in bars), 1) if bars else None,
                       "gen_ms_max_after_first_bar": round(max([b["gen_ms"] for b in bars if b["index"] > 0],
                                                               default=0.0), 1),
                       "bars_slower_than_their_length": sum(b["gen_ms"] > b["bar_ms"] for b in bars),
                       "bar_ms": bars[0]["bar_ms"] if bars else None,
                       "errors": [b["error"] for out in stream_out for b in out if "error" in b]},
            "health_after": None,
        }
        with urllib.request.urlopen(base + "/health", timeout=10) as r:
            result["health_after"] = json.loads(r.read())["status"]
        print(json.dumps(result, indent=1))
        if args.out:
            with open(args.out, "w") as f:
                json.dump(result, f, indent=1)
        return 0 if result["server_errors_5xx"] == 0 and result["health_after"] == "ok" else 1
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        import shutil

        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
