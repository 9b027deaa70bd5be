"""``python -m bench.hostile``: the hostile-upload and hostile-client attacks against the server as
``make run`` starts it (its launcher, ``python -m backend.serve``: gunicorn, 2 workers, the
per-client limits on, as deployed: the burst attack expects 429s), with each attack's outcome, its
time and the peak memory of the server's whole process tree (master, workers and any process they
start, a decoder pool's children included), sampled while the attack runs.

``--before REF`` also starts the server of an earlier commit (checked out in a temporary git
worktree, bench/checkout.py) and runs every attack against both, one server after the other:
outcomes, times and memory side by side, after ÷ before, and every figure more than 10 % worse
flagged. Writes ``bench/results/hostile.{json,md}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import requests

from bench import attacks, checkout, report
from bench.fixtures import encoded_blank, free_port
from bench.servers import HOST, ROOT, PeakTreeRSS, ServerFailed, ServerProcess, ServerSpec
from ml import SHIPPED_MODEL

RESULTS = ROOT / "bench" / "results"
MB = 1024 * 1024
READY_TIMEOUT_S = 120.0
# A time this close to before is the same (a 10 ms refusal against a 20 ms one is not a regression).
TIME_NOISE_S = 0.05


def hostile_spec(root: Path, port: int, name: str) -> ServerSpec:
    """The server of the checkout at ``root``, as deployed (limits on, 2 workers), behind one
    trusted proxy hop (so that attacker and normal user have addresses of their own), with that
    checkout's own copy of the shipped model file."""
    return ServerSpec(
        name=name,
        description=f"python -m backend.serve in {root} (2 workers, per-client limits on)",
        port=port,
        argv=[sys.executable, "-m", "backend.serve"],
        env={"HOST": HOST, "PORT": str(port), "WEB_CONCURRENCY": "2", "TRUSTED_PROXY_HOPS": "1",
             "MODEL_PATH": str(checkout.counterpart(SHIPPED_MODEL, root))},
        cwd=root,
    )


def wait_ready(server: ServerProcess, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Until ``/api/ready`` answers 200, then a second for the other worker."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not server.alive():
            raise server.failure(f"exited with code {server.process.returncode} before serving")
        try:
            if requests.get(server.base_url + "/api/ready", timeout=2).ok:
                time.sleep(1)
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise server.failure(f"not ready within {timeout_s:.0f} s")


def upload_attack(url: str, path: str, files) -> dict:
    """One upload; its answer's status (a batch's: the count of each image's error code)."""
    started = time.monotonic()
    try:
        response = requests.post(url + path, files=files, timeout=900)
        status = response.status_code
        if path.endswith("batch") and status == 200:
            codes = [r.get("error", {}).get("code", "ok") for r in response.json()["results"]]
            status = f"200 ({', '.join(f'{codes.count(c)}x {c}' for c in sorted(set(codes)))})"
    except requests.RequestException as error:
        status = f"failed: {type(error).__name__}"
    return {"outcome": str(status), "seconds": round(time.monotonic() - started, 2)}


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


def normal_user_outcome(normal: dict) -> str:
    """Whether the normal user got every answer (how many requests it sent depends on timing)."""
    if normal["succeeded"] == normal["requests"]:
        return "normal user: every request answered"
    return f"normal user: {normal['succeeded']} of {normal['requests']} answered"


def normal_user_result(normal: dict) -> dict:
    """A slow-client attack's result: how the normal user fared meanwhile; its time is the normal
    user's median answer time."""
    p50 = normal["p50_ms"]
    return {"outcome": normal_user_outcome(normal), "seconds": None if p50 is None else round(p50 / 1000, 3),
            "normal_user": normal}


def trickle_attack(url: str, body: bool, seconds: float, clients=16, interval=8.0) -> dict:
    """``clients`` connections sending a request one byte every ``interval`` seconds."""
    port = int(url.rsplit(":", 1)[1])
    head = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 100000\r\n\r\n") if body else b""
    trickled = b"--b\r\n" + b"x" * 1000 if body else b"POST /api/predict HTTP/1.1\r\nHost: x\r\n" * 50
    stop = threading.Event()

    def client():
        while not stop.is_set():
            try:
                with socket.create_connection((HOST, port), timeout=10) as sock:
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
    return normal_user_result(result)


def burst_attack(url: str, photo: bytes, n: int) -> dict:
    """One client sends ``n`` copies of ``photo`` at once; a normal user meanwhile. Its time: until
    every one of them is answered."""
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
    # The outcome: which answers the attacker got (how many of each depends on timing: in
    # "statuses") and how the normal user fared.
    return {"outcome": f"{', '.join(counts)}; {normal_user_outcome(normal)}",
            "seconds": round(time.monotonic() - started, 2), "statuses": counts, "normal_user": normal}


def held_connections_attack(url: str, n=600) -> dict:
    """``n`` connections each sending 95 headers of 8 KB and 520 KB of a body it never finishes,
    then held for 3 s while a normal user predicts."""
    port = int(url.rsplit(":", 1)[1])
    headers = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 7990) for i in range(95))
    body = b"--b\r\n" + b"x" * 520_000
    request = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\n" + headers + b"Content-Type: multipart/form-data; "
               b"boundary=b\r\nContent-Length: %d\r\n\r\n" % (len(body) + 100) + body)
    held = []
    try:
        for _ in range(n):
            try:
                sock = socket.create_connection((HOST, port), timeout=5)
                held.append(sock)
                sock.sendall(request)
            except OSError:  # refused and closed by the server
                pass
        time.sleep(1)
        normal = normal_requests(url, 3.0)
    finally:
        for sock in held:
            sock.close()
    return normal_user_result(normal)


@dataclass(frozen=True)
class Attack:
    """One attack: ``send(url, payload)`` runs it against the server at ``url``; ``payload()``
    builds what it sends, once, for every server."""

    name: str
    send: Callable[[str, object], dict]
    payload: Callable[[], object] = lambda: None


def upload(name: str, path: str, files: Callable[[], object]) -> Attack:
    return Attack(name, lambda url, payload: upload_attack(url, path, payload), files)


def attack_list(quick: bool) -> list[Attack]:
    """Every attack, in running order; ``quick``: shorter slow-client phases, a smaller burst."""
    seconds = 10.0 if quick else 30.0
    burst = 40 if quick else 200
    return [
        upload("16-bit greyscale PNG 6324x6324 (78 KB)", "/api/predict",
               lambda: {"image": ("x.png", attacks.png_zeros(6324, 6324, "L16"))}),
        upload("RGBA16 PNG 1x39,999,999 (350 KB)", "/api/predict",
               lambda: {"image": ("x.png", attacks.png_zeros(1, 39_999_999, "RGBA16"))}),
        upload("float32 TIFF 6324x6324 (253 KB)", "/api/predict",
               lambda: {"image": ("x.tif", attacks.tiff_zeros(6324, 6324, 3))}),
        upload("int32 TIFF 6324x6324", "/api/predict",
               lambda: {"image": ("x.tif", attacks.tiff_zeros(6324, 6324, 2))}),
        upload("progressive JPEG 6324x6324, 10,000 scans", "/api/predict",
               lambda: {"image": ("x.jpg", attacks.progressive_jpeg_scans(6324, 6324, 10_000))}),
        *(upload(name, "/api/predict", lambda filename=filename, make=make: {"image": (filename, make())})
          for name, (filename, make) in attacks.STRUCTURE_ATTACKS.items()),
        upload("batch of 16 RGBA8 PNGs of 40 Mpx (156 KB each)", "/api/predict/batch", lambda: [
            ("images", (f"{i}.png", attacks.png_zeros(6324, 6324, "RGBA8"))) for i in range(16)]),
        upload("batch of 16 worst allowed (RGBA8 PNG 12 Mpx)", "/api/predict/batch", lambda: [
            ("images", (f"{i}.png", attacks.png_zeros(3500, 3500, "RGBA8"))) for i in range(16)]),
        upload("batch of 64 worst allowed (RGBA8 PNG 12 Mpx)", "/api/predict/batch", lambda: [
            ("images", (f"{i}.png", attacks.png_zeros(3500, 3500, "RGBA8"))) for i in range(64)]),
        Attack("16 clients trickling headers (1 byte / 8 s)",
               lambda url, _: trickle_attack(url, body=False, seconds=seconds)),
        Attack("16 clients trickling a body (1 byte / 8 s)",
               lambda url, _: trickle_attack(url, body=True, seconds=seconds)),
        Attack("600 connections holding 760 KB of headers and 520 KB of a body",
               lambda url, _: held_connections_attack(url)),
        Attack(f"one client, {burst} concurrent 9 MB photos",
               lambda url, photo: burst_attack(url, photo, burst), lambda: attacks.noise_jpeg(9 * MB)),
    ]


def run_attacks(servers: dict[str, ServerProcess], quick: bool, only: str = "") -> dict:
    """Every attack whose name contains ``only``, against each server in turn (before the next
    attack), with the peak RSS of the server's process tree while it runs."""
    results = {}
    for attack in attack_list(quick):
        if only not in attack.name:
            continue
        payload = attack.payload()
        results[attack.name] = {}
        for label, server in servers.items():
            with PeakTreeRSS(server.process.pid) as memory:
                result = attack.send(server.base_url, payload)
            if not server.alive():
                raise server.failure(f"died during the attack {attack.name!r}")
            results[attack.name][label] = {**result, "rss_before_mb": round(memory.before_mb, 1),
                                           "peak_rss_mb": round(memory.peak_mb, 1),
                                           "peak_growth_mb": round(memory.peak_mb - memory.before_mb, 1)}
            print(f"[{label}] {attack.name}: {results[attack.name][label]}", flush=True)
    return results


# ------------------------------------------------------------------------------------------ report

def changes(after: dict, before: dict) -> list[str]:
    """What changed from ``before`` to ``after`` in one attack: its outcome (to be read: a refusal
    that became an answer, or a normal user answered less often), its time or its peak memory
    more than report.TOLERANCE worse."""
    found = []
    if after["outcome"] != before["outcome"]:
        found.append("outcome changed")
    if report.worse_than_before(after["seconds"], before["seconds"], False, noise=TIME_NOISE_S):
        found.append("time worse")
    if report.worse_than_before(after["peak_rss_mb"], before["peak_rss_mb"], False):
        found.append("memory worse")
    return found


def to_markdown(results: dict) -> str:
    """One row per attack: each server's outcome, time and peak memory; with a before, the
    after ÷ before ratios and what changed or got worse."""
    labels = list(results["servers"])
    compare = "before" in labels
    lines = ["# Hostile uploads and clients", "",
             f"Run {results['date']}; load average {results['machine']['load_average_at_start'][0]} at start "
             f"({results['machine']['cpu_count']} CPUs). Time: an upload's answer time, the burst's time "
             "until every photo is answered, the slow-client attacks' normal user's median answer time. "
             "Memory: the highest summed RSS of the server's whole process tree while the attack ran "
             "(sampled every 50 ms), and its growth over the start.", ""]
    lines += [f"- **{label}**: {server['description']}" for label, server in results["servers"].items()]
    lines.append("")
    if compare:
        lines += ["| Attack | Outcome before | Outcome after | Time before | Time after | After ÷ before "
                  "| Peak RSS before | Peak RSS after | After ÷ before | Changed or worse |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    else:
        lines += ["| Attack | Outcome | Time | Peak RSS (growth) |", "|---|---|---:|---:|"]
    for name, by_server in results["attacks"].items():
        if not compare:
            result = by_server[labels[0]]
            lines.append(f"| {name} | {result['outcome']} | {report.fmt(result['seconds'], 2, 's')} | "
                         f"{result['peak_rss_mb']:.0f} MB ({result['peak_growth_mb']:+.0f} MB) |")
            continue
        after, before = by_server["ours"], by_server["before"]
        lines.append(
            f"| {name} | {before['outcome']} | {after['outcome']} | "
            f"{report.fmt(before['seconds'], 2, 's')} | {report.fmt(after['seconds'], 2, 's')} | "
            f"{report.describe_ratio(report.ratio(after['seconds'], before['seconds']))} | "
            f"{before['peak_rss_mb']:.0f} MB ({before['peak_growth_mb']:+.0f}) | "
            f"{after['peak_rss_mb']:.0f} MB ({after['peak_growth_mb']:+.0f}) | "
            f"{report.describe_ratio(report.ratio(after['peak_rss_mb'], before['peak_rss_mb']))} | "
            f"{', '.join(changes(after, before))} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", metavar="REF", default=None,
                        help="also attack the server of this git commit, side by side")
    parser.add_argument("--quick", action="store_true", help="shorter slow-client phases, smaller burst")
    parser.add_argument("--only", default="", help="run only the attacks whose name contains this")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output folder (default: bench/results)")
    args = parser.parse_args(argv)
    results = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
               "machine": report.machine_info(), "settings": {"quick": args.quick, "only": args.only},
               "servers": {}}
    try:
        with ExitStack() as stack:
            roots = {"ours": ROOT}
            if args.before:
                roots["before"] = stack.enter_context(checkout.worktree(args.before))
                results["servers"]["before"] = {"ref": args.before, **checkout.describe(roots["before"])}
            servers = {}
            for label, root in roots.items():
                server = stack.enter_context(ServerProcess(hostile_spec(root, free_port(), label)))
                wait_ready(server)
                servers[label] = server
                results["servers"].setdefault(label, {})["description"] = server.spec.description
            results["attacks"] = run_attacks(servers, args.quick, args.only)
    except (checkout.CheckoutFailed, ServerFailed) as error:
        print(f"error: {error}\n{getattr(error, 'output_tail', '')}", file=sys.stderr)
        return 2
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.before:
        results["changes"] = {name: found for name, by_server in results["attacks"].items()
                              if (found := changes(by_server["ours"], by_server["before"]))}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "hostile.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    (args.out / "hostile.md").write_text(to_markdown(results))
    print("\n" + to_markdown(results))
    print(f"results written to {args.out / 'hostile.json'} and {args.out / 'hostile.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
