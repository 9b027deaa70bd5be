"""``python -m bench.hostile``: the hostile-upload and hostile-client attacks against the server as
``make run`` starts it (its launcher, ``python -m backend.serve``: gunicorn, 2 workers, the
per-client limits on, as deployed: the burst attack expects 429s), with the time and the workers'
peak memory of each.

``--root`` runs the server of another checkout (e.g. an older commit in a git worktree) with the
same attacks, for before/after figures. Writes ``bench/results/hostile-<label>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

from backend.serve import ALLOCATOR
from bench import attacks
from bench.fixtures import encoded_blank
from bench.servers import free_port
from ml import SHIPPED_MODEL

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MB = 1024 * 1024


def server_command(root: Path) -> tuple[list[str], dict]:
    """The command line and environment that start ``root``'s server: its launcher, or for a
    checkout from before the launcher, gunicorn with its config and the launcher's allocator
    settings (as its Makefile started it)."""
    if (root / "backend" / "serve.py").is_file():
        return [sys.executable, "-m", "backend.serve"], {}
    return [sys.executable, "-m", "gunicorn", "--config", "backend/gunicorn.conf.py"], ALLOCATOR


def start_server(root: Path, port: int, env: dict) -> subprocess.Popen:
    command, allocator = server_command(root)
    variables = {**allocator, **os.environ, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "2",
                 "MODEL_PATH": str(SHIPPED_MODEL), "PYTHONPATH": str(root), **env}
    process = subprocess.Popen(command, cwd=root, env=variables, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2).ok:
                time.sleep(1)  # both workers up
                return process
        except requests.RequestException:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("server did not start")


class Workers:
    """Peak RSS growth of the busiest worker over a block (VmHWM after clear_refs)."""

    def __init__(self, master: int):
        self.master = master

    def pids(self) -> list[int]:
        return [child.pid for child in psutil.Process(self.master).children()]

    @staticmethod
    def _kb(pid: int, field: str) -> int:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        return 0

    def reset(self) -> dict:
        before = {}
        for pid in self.pids():
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            before[pid] = self._kb(pid, "VmRSS")
        return before

    def growth(self, before: dict) -> float:
        return max((self._kb(pid, "VmHWM") - rss for pid, rss in before.items()
                    if Path(f"/proc/{pid}").exists()), default=0) / MB


def upload_attack(url, workers, path, files) -> dict:
    before = workers.reset()
    started = time.monotonic()
    try:
        response = requests.post(url + path, files=files, timeout=900)
        status = response.status_code
        if path.endswith("batch") and status == 200:
            codes = [r.get("error", {}).get("code", "ok") for r in response.json()["results"]]
            status = f"200 ({', '.join(f'{codes.count(c)}x {c}' for c in sorted(set(codes)))})"
    except requests.RequestException as error:
        status = f"failed: {type(error).__name__}"
    return {"status": status, "seconds": round(time.monotonic() - started, 2),
            "peak_mb": round(workers.growth(before), 1)}


# Behind the (simulated) proxy the server trusts, attacker and normal user have their own addresses.
ATTACKER = {"X-Forwarded-For": "203.0.113.66"}
NORMAL_USER = {"X-Forwarded-For": "198.51.100.7"}


def normal_requests(url, seconds: float, interval: float = 1.0) -> dict:
    """A normal user predicting a small picture every ``interval`` seconds (5 s timeout each)."""
    ok = total = 0
    latencies = []
    deadline = time.monotonic() + seconds
    png = encoded_blank(64, 64, "PNG")
    while time.monotonic() < deadline:
        total += 1
        started = time.monotonic()
        try:
            if requests.post(url + "/api/predict", files={"image": ("x.png", png)}, headers=NORMAL_USER,
                             timeout=5).ok:
                ok += 1
                latencies.append(time.monotonic() - started)
        except requests.RequestException:
            pass
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
    latencies.sort()
    return {"succeeded": ok, "requests": total,
            "p50_ms": round(1000 * latencies[len(latencies) // 2], 1) if latencies else None}


def trickle_attack(url, body: bool, seconds: float, clients=16, interval=8.0) -> dict:
    """``clients`` connections sending a request one byte every ``interval`` seconds."""
    port = int(url.rsplit(":", 1)[1])
    head = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 100000\r\n\r\n") if body else b""
    trickled = b"--b\r\n" + b"x" * 1000 if body else b"POST /api/predict HTTP/1.1\r\nHost: x\r\n" * 50
    stop = threading.Event()

    def client():
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                    sock.sendall(head)
                    for byte in trickled:
                        sock.sendall(bytes([byte]))
                        if stop.wait(interval):
                            return
            except OSError:
                stop.wait(1)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    result = normal_requests(url, seconds)
    stop.set()
    return result


def burst_attack(url, workers, n=200, size_mb=9) -> dict:
    """One client sends ``n`` photos of ~``size_mb`` MB at once; a normal user meanwhile."""
    photo = attacks.noise_jpeg(size_mb * MB)
    before = workers.reset()
    started = time.monotonic()
    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(lambda: requests.post(url + "/api/predict", files={"image": ("x.jpg", photo)},
                                                     headers=ATTACKER, timeout=120).status_code)
                   for _ in range(n)]
        time.sleep(0.5)
        normal = normal_requests(url, 10.0, interval=0.5)
        statuses = []
        for future in futures:
            try:
                statuses.append(future.result())
            except requests.RequestException:
                statuses.append("failed")
    counts = {str(s): statuses.count(s) for s in sorted(set(statuses), key=str)}
    return {"statuses": counts, "seconds": round(time.monotonic() - started, 2),
            "peak_mb": round(workers.growth(before), 1), "normal_user": normal}


def held_connections_attack(url, workers, n=600) -> dict:
    """``n`` connections each sending 95 headers of 8 KB and 520 KB of a body it never finishes,
    then held for 3 s while a normal user predicts."""
    port = int(url.rsplit(":", 1)[1])
    headers = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 7990) for i in range(95))
    body = b"--b\r\n" + b"x" * 520_000
    request = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\n" + headers + b"Content-Type: multipart/form-data; "
               b"boundary=b\r\nContent-Length: %d\r\n\r\n" % (len(body) + 100) + body)
    before = workers.reset()
    held = []
    try:
        for _ in range(n):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                held.append(sock)
                sock.sendall(request)
            except OSError:  # refused and closed by the server
                pass
        time.sleep(1)
        normal = normal_requests(url, 3.0)
    finally:
        for sock in held:
            sock.close()
    return {"peak_mb": round(workers.growth(before), 1), "normal_user": normal}


def run(root: Path, quick: bool, only: str = "") -> dict:
    port = free_port()
    process = start_server(root, port, {"TRUSTED_PROXY_HOPS": "1"})
    url = f"http://127.0.0.1:{port}"
    workers = Workers(process.pid)
    results = {}
    try:
        uploads = {
            "16-bit greyscale PNG 6324x6324 (78 KB)": ("/api/predict", lambda: {
                "image": ("x.png", attacks.png_zeros(6324, 6324, "L16"))}),
            "RGBA16 PNG 1x39,999,999 (350 KB)": ("/api/predict", lambda: {
                "image": ("x.png", attacks.png_zeros(1, 39_999_999, "RGBA16"))}),
            "float32 TIFF 6324x6324 (253 KB)": ("/api/predict", lambda: {
                "image": ("x.tif", attacks.tiff_zeros(6324, 6324, 3))}),
            "int32 TIFF 6324x6324": ("/api/predict", lambda: {
                "image": ("x.tif", attacks.tiff_zeros(6324, 6324, 2))}),
            "progressive JPEG 6324x6324, 10,000 scans": ("/api/predict", lambda: {
                "image": ("x.jpg", attacks.progressive_jpeg_scans(6324, 6324, 10_000))}),
            **{name: ("/api/predict", lambda filename=filename, make=make: {"image": (filename, make())})
               for name, (filename, make) in attacks.STRUCTURE_ATTACKS.items()},
            "batch of 16 RGBA8 PNGs of 40 Mpx (156 KB each)": ("/api/predict/batch", lambda: [
                ("images", (f"{i}.png", attacks.png_zeros(6324, 6324, "RGBA8"))) for i in range(16)]),
            "batch of 16 worst allowed (RGBA8 PNG 12 Mpx)": ("/api/predict/batch", lambda: [
                ("images", (f"{i}.png", attacks.png_zeros(3500, 3500, "RGBA8"))) for i in range(16)]),
            "batch of 64 worst allowed (RGBA8 PNG 12 Mpx)": ("/api/predict/batch", lambda: [
                ("images", (f"{i}.png", attacks.png_zeros(3500, 3500, "RGBA8"))) for i in range(64)]),
        }
        for name, (path, files) in uploads.items():
            if only not in name:
                continue
            results[name] = upload_attack(url, workers, path, files())
            print(name, results[name], flush=True)
        seconds = 10.0 if quick else 30.0
        for name, body in (("16 clients trickling headers (1 byte / 8 s)", False),
                           ("16 clients trickling a body (1 byte / 8 s)", True)):
            if only not in name:
                continue
            results[name] = trickle_attack(url, body, seconds)
            print(name, results[name], flush=True)
        name = "600 connections holding 760 KB of headers and 520 KB of a body"
        if only in name:
            results[name] = held_connections_attack(url, workers)
            print(name, results[name], flush=True)
        name = "one client, 200 concurrent 9 MB photos"
        if only in name:
            results[name] = burst_attack(url, workers, n=40 if quick else 200)
            print(name, results[name], flush=True)
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose server to attack")
    parser.add_argument("--label", default="ours")
    parser.add_argument("--quick", action="store_true", help="shorter slow-client phases, smaller burst")
    parser.add_argument("--only", default="", help="run only the attacks whose name contains this")
    args = parser.parse_args(argv)
    results = run(args.root.resolve(), args.quick, args.only)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"hostile-{args.label}.json"
    previous = json.loads(path.read_text()) if args.only and path.exists() else {}
    path.write_text(json.dumps({**previous, **results}, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
