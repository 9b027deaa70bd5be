"""The measurements, as HTTP clients: the same functions run against every server.

Every request is a pre-encoded :class:`~bench.payloads.Upload` sent with a keep-alive
``requests.Session``; a request fails if it raises or if its answer is not a 200 with the
expected JSON (predictions for the image, or for every image of a batch). Every loop is bounded
both in count and in time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import requests

from bench.payloads import Upload
from bench.servers import ServerProcess

REQUEST_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.05
PROGRESS_EVERY_S = 5.0
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

    @classmethod
    def merge(cls, tallies: list[Tally]) -> Tally:
        merged = cls()
        for tally in tallies:
            merged.latencies_ms += tally.latencies_ms
            merged.failures += tally.failures
            for error in tally.errors:
                merged._keep_sample(error)
        return merged

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


def _client_loop(base_url: str, upload: Upload, seconds: float, start: threading.Barrier,
                 stop: threading.Event, tally: Tally) -> None:
    """One concurrent client: its own Session, requests back to back until the deadline."""
    with requests.Session() as session:
        start.wait()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline and not stop.is_set():
            tally.record(*timed_post(session, base_url, upload))


def concurrent_throughput(base_url: str, upload: Upload, clients: int, seconds: float,
                          progress: Progress) -> dict:
    """``clients`` threads, each with its own keep-alive Session, send requests back to back for
    ``seconds``; successful requests per second of wall time, failures, latency percentiles."""
    tallies = [Tally() for _ in range(clients)]
    start, stop = threading.Barrier(clients + 1), threading.Event()
    threads = [threading.Thread(target=_client_loop, args=(base_url, upload, seconds, start, stop, tally),
                                name=f"bench-client-{i}", daemon=True) for i, tally in enumerate(tallies)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    hard_deadline = started + seconds + REQUEST_TIMEOUT_S + 5  # a request in flight may take this long
    try:
        _wait_for_clients(threads, tallies, started, hard_deadline, progress)
    finally:
        stop.set()  # Ctrl-C or a hung request: the clients stop after their current request
    elapsed = time.perf_counter() - started
    tally = Tally.merge(tallies)
    ok = len(tally.latencies_ms)
    return {"upload": upload.label, "clients": clients, "seconds": round(elapsed, 3),
            "requests_per_s": round(ok / elapsed, 1) if elapsed > 0 else None,
            "stuck_clients": sum(thread.is_alive() for thread in threads), **tally.summary()}


def _wait_for_clients(threads: list[threading.Thread], tallies: list[Tally], started: float,
                      hard_deadline: float, progress: Progress) -> None:
    """Join the client threads, reporting the running totals every few seconds."""
    next_report = started + PROGRESS_EVERY_S
    for thread in threads:
        while thread.is_alive() and time.perf_counter() < hard_deadline:
            thread.join(timeout=0.5)
            if time.perf_counter() >= next_report:
                done, failed = sum(t.requests for t in tallies), sum(t.failures for t in tallies)
                progress(f"{time.perf_counter() - started:.0f} s: {done} requests, {failed} failed")
                next_report += PROGRESS_EVERY_S
