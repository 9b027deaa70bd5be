"""The measurements, as HTTP clients: the same functions run against every server.

Every request is a pre-encoded :class:`~bench.payloads.Upload` sent with a keep-alive
``requests.Session`` (sequential phases) or by Locust users (concurrent and load phases); a
request fails if it raises or if its answer is not a 200 with the expected JSON. Every loop is
bounded both in count and in time.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests

from bench.payloads import Upload
from bench.servers import ServerProcess

LOCUSTFILE = Path(__file__).with_name("locustfile.py")

REQUEST_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.05
MAX_ERROR_SAMPLES = 5

Progress = Callable[[str], None]


@dataclass
class Tally:
    """Latencies of the successful requests, the failures, and a few failure messages."""

    latencies_ms: list[float] = field(default_factory=list)
    failures: int = 0
    errors: list[str] = field(default_factory=list)

    def record(self, latency_ms: float, error: str | None) -> None:
        if error is None:
            self.latencies_ms.append(latency_ms)
            return
        self.failures += 1
        self._keep_sample(error)

    def _keep_sample(self, error: str) -> None:
        if len(self.errors) < MAX_ERROR_SAMPLES and error not in self.errors:
            self.errors.append(error)

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + self.failures

    def summary(self) -> dict:
        """Counts and latency percentiles (ms) of the successful requests."""
        result = {"requests": self.requests, "failures": self.failures}
        if self.latencies_ms:
            latencies = np.asarray(self.latencies_ms)
            p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
            result.update(p50_ms=round(float(p50), 2), p95_ms=round(float(p95), 2),
                          p99_ms=round(float(p99), 2), mean_ms=round(float(latencies.mean()), 2),
                          max_ms=round(float(latencies.max()), 2))
        if self.errors:
            result["errors"] = self.errors
        return result


def response_error(upload: Upload, response: requests.Response) -> str | None:
    """Why this answer is not a successful prediction, or None if it is one."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    try:
        payload = response.json()
    except ValueError:
        return "answer is not JSON"
    if not upload.is_batch:
        return None if payload.get("predictions") else "no predictions in the answer"
    results = payload.get("results") or []
    if len(results) != upload.n_images or not all(r.get("predictions") for r in results):
        return f"batch answer lacks predictions for some of its {upload.n_images} images"
    return None


def timed_post(session: requests.Session, base_url: str, upload: Upload,
               timeout: float = REQUEST_TIMEOUT_S) -> tuple[float, str | None]:
    """POST ``upload``; returns (wall time in ms until the whole answer was read, error or None)."""
    started = time.perf_counter()
    try:
        response = session.post(base_url + upload.path, data=upload.body,
                                headers={"Content-Type": upload.content_type}, timeout=timeout)
    except requests.RequestException as error:
        return (time.perf_counter() - started) * 1000, f"{type(error).__name__}: {error}"[:300]
    latency_ms = (time.perf_counter() - started) * 1000
    return latency_ms, response_error(upload, response)


def wait_for_first_prediction(server: ServerProcess, upload: Upload, timeout_s: float) -> float:
    """Seconds from the server's spawn until its first successful prediction (polling).

    Raises ServerFailed if the server exits or does not answer a prediction within
    ``timeout_s`` of its spawn."""
    deadline = server.started_at + timeout_s
    last_error = "no answer yet"
    with requests.Session() as session:
        while time.perf_counter() < deadline:
            if not server.alive():
                raise server.failure(f"exited with code {server.process.returncode} before serving")
            remaining = deadline - time.perf_counter()
            _, error = timed_post(session, server.base_url, upload, timeout=max(0.1, min(remaining, 10.0)))
            if error is None:
                return time.perf_counter() - server.started_at
            last_error = error
            time.sleep(POLL_INTERVAL_S)
    raise server.failure(f"no successful prediction within {timeout_s:.0f} s (last: {last_error})")


def sequential_latency(base_url: str, upload: Upload, count: int, progress: Progress,
                       warmup: int = 3, time_limit_s: float = 900.0) -> dict:
    """``count`` requests one after the other on one keep-alive connection, after ``warmup``
    uncounted ones; latency percentiles of the successful ones. Stops early at ``time_limit_s``."""
    tally = Tally()
    report_every = max(1, count // 5)
    deadline = time.perf_counter() + time_limit_s
    with requests.Session() as session:
        for _ in range(warmup):
            timed_post(session, base_url, upload)
        for done in range(1, count + 1):
            tally.record(*timed_post(session, base_url, upload))
            if done % report_every == 0 or done == count:
                progress(f"{done}/{count} requests, {tally.failures} failed")
            if time.perf_counter() > deadline:
                progress(f"time limit of {time_limit_s:.0f} s reached after {done} requests")
                break
    return {"upload": upload.label, "upload_bytes": upload.size_bytes, "warmup": warmup, **tally.summary()}


def batch_throughput(base_url: str, upload: Upload, count: int, progress: Progress,
                     time_limit_s: float = 900.0) -> dict:
    """``count`` batch requests one after the other (after one uncounted warm-up batch):
    images classified per second of wall time."""
    tally = Tally()
    deadline = time.perf_counter() + time_limit_s
    with requests.Session() as session:
        timed_post(session, base_url, upload)
        started = time.perf_counter()
        for done in range(1, count + 1):
            tally.record(*timed_post(session, base_url, upload))
            progress(f"{done}/{count} batches of {upload.n_images}, {tally.failures} failed")
            if time.perf_counter() > deadline:
                break
        elapsed = time.perf_counter() - started
    images = len(tally.latencies_ms) * upload.n_images
    return {"upload": upload.label, "batch_size": upload.n_images, "batches": tally.requests,
            "images": images, "seconds": round(elapsed, 3),
            "images_per_s": round(images / elapsed, 1) if elapsed > 0 else None, **tally.summary()}


def concurrent_throughput(base_url: str, upload: Upload, clients: int, seconds: float,
                          progress: Progress) -> dict:
    """``clients`` Locust users (headless, bench/locustfile.py) send ``upload`` back to back for
    ``seconds``: successful requests per second, failures, latency percentiles (Locust's)."""
    with tempfile.TemporaryDirectory() as folder:
        body = Path(folder) / "body"
        body.write_bytes(upload.body)
        env = {**os.environ, "BENCH_BODY": str(body), "BENCH_CONTENT_TYPE": upload.content_type,
               "BENCH_PATH": upload.path}
        progress(f"locust: {clients} users for {seconds:g} s")
        started = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base_url,
             "--users", str(clients), "--spawn-rate", str(clients), "--run-time", f"{seconds:g}s",
             "--stop-timeout", f"{REQUEST_TIMEOUT_S:g}s", "--csv", str(Path(folder) / "run"),
             "--only-summary",
             "--loglevel", "WARNING"],
            env=env, capture_output=True, text=True, timeout=seconds + REQUEST_TIMEOUT_S + 60)
        elapsed = time.perf_counter() - started
        stats_file = Path(folder) / "run_stats.csv"
        if not stats_file.exists():
            raise RuntimeError(f"locust wrote no statistics:\n{run.stderr[-2000:]}")
        with stats_file.open() as handle:
            row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
        failures_file = Path(folder) / "run_failures.csv"
        errors = []
        if failures_file.exists():
            with failures_file.open() as handle:
                errors = [f"{r['Error']} (x{r['Occurrences']})" for r in csv.DictReader(handle)]
    total, failed = int(row["Request Count"]), int(row["Failure Count"])
    result = {"upload": upload.label, "clients": clients, "seconds": seconds, "tool": "locust",
              "requests_per_s": round((total - failed) / seconds, 1), "requests": total, "failures": failed,
              "p50_ms": float(row["50%"]), "p95_ms": float(row["95%"]), "p99_ms": float(row["99%"]),
              "mean_ms": round(float(row["Average Response Time"]), 2),
              "max_ms": float(row["Max Response Time"]), "wall_seconds": round(elapsed, 1)}
    if errors:
        result["errors"] = errors[:MAX_ERROR_SAMPLES]
    return result


