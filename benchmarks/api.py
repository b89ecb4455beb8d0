"""REST API figures, measured in one run against a real local server (`studio serve --no-ui`, uvicorn, one process).

For SQLite (the default) and then PostgreSQL (a fresh schema in the local server): p50 / p95 latency and requests
per second of ``GET /api/projects`` (20 projects, Bearer token verified per request) and of an asset download
through its signed link (a 1 MB image), each with 20 concurrent clients.

The load comes from threads in this process on the same machine, so the figures are a floor: the clients take
CPU from the server.

Usage: python benchmarks/api.py [--requests 2000] [--clients 20] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(home: Path, db_url: str | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "STUDIO_HOME": str(home), "STUDIO_AUTH": "local", "STUDIO_JWT_SECRET": uuid.uuid4().hex * 2,
           "STUDIO_LOGIN_PER_MINUTE": "1000"}
    if db_url:
        env["STUDIO_DATABASE_URL"] = db_url
    proc = subprocess.Popen([sys.executable, "-m", "studio.cli", "serve", "--no-ui", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(home / "server.log", "w"))
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            urllib.request.urlopen(url + "/api/health", timeout=1).close()
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((home / "server.log").read_text()) from None
            time.sleep(0.25)
    raise RuntimeError("server did not start")


def load(url: str, headers: dict, total: int, clients: int) -> dict:
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = total // clients
    errors = [0]

    def worker() -> None:
        mine = []
        with httpx.Client(headers=headers, timeout=60) as c:
            for _ in range(per_client):
                t0 = time.perf_counter()
                r = c.get(url)
                r.read()
                mine.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=100)
    return {"p50_ms": q[49] * 1000, "p95_ms": q[94] * 1000, "rps": len(latencies) / wall, "errors": errors[0],
            "n": len(latencies)}


def run(name: str, db_url: str | None, total: int, clients: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        proc, url = start(Path(tmp), db_url)
        try:
            c = httpx.Client(base_url=url, timeout=60)
            session = c.post("/api/auth/signup", json={"email": "bench@example.com", "password": "benchmark pass 1"}).json()
            auth = {"Authorization": f"Bearer {session['access_token']}"}
            for i in range(20):
                c.post("/api/projects", headers=auth, json={"name": f"project {i}"}).raise_for_status()
            noise = np.random.default_rng(0).integers(0, 255, (600, 560, 3), dtype=np.uint8)
            buf = io.BytesIO()
            Image.fromarray(noise).save(buf, "PNG")
            asset = c.post("/api/assets", headers=auth, files={"file": ("bench.png", buf.getvalue(), "image/png")}).json()
            link = asset["download_url"]
            for _ in range(20):  # warm up both paths
                c.get("/api/projects", headers=auth)
                c.get(link)
            out = {"projects": load(url + "/api/projects", auth, total, clients),
                   "download": load(link, {}, total // 4, clients), "download_bytes": asset["size"]}
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    print(f"[{name}] GET /api/projects: p50 {out['projects']['p50_ms']:.1f} ms, p95 {out['projects']['p95_ms']:.1f} ms, "
          f"{out['projects']['rps']:.0f} req/s ({out['projects']['n']} requests, {out['projects']['errors']} errors)")
    print(f"[{name}] signed download of {out['download_bytes'] / 2**20:.2f} MB: p50 {out['download']['p50_ms']:.1f} ms, "
          f"p95 {out['download']['p95_ms']:.1f} ms, {out['download']['rps']:.0f} req/s ({out['download']['n']} requests, "
          f"{out['download']['errors']} errors)")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    results = {"sqlite": run("sqlite", None, args.requests, args.clients)}
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        results["postgres"] = run("postgres", f"{args.pg}?options=-csearch_path%3D{schema}", args.requests, args.clients)
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    p = results["postgres"]["projects"]["p50_ms"] / results["sqlite"]["projects"]["p50_ms"]
    print(f"postgres ÷ sqlite, GET /api/projects p50: {p:.2f}")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
