"""One server's benchmark, phase by phase: the same sequence for ours and for the baseline."""

from __future__ import annotations

import shlex
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import client
from bench.fixtures import free_port
from bench.payloads import Workload
from bench.servers import ServerProcess, ServerSpec


@dataclass(frozen=True)
class Settings:
    """How much of everything to do (see the command-line flags)."""

    requests: int
    big_requests: int
    batches: int
    concurrency: int
    concurrent_seconds: float
    load_seconds: float
    start_timeout: float
    starts: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


def progress_printer(server: str, phase: str):
    """A progress callback that prints ``[server] phase: message`` at once."""
    def progress(message: str) -> None:
        print(f"[{server}] {phase}: {message}", flush=True)
    return progress


def measure_server(make_spec: Callable[[Path, int], ServerSpec], model_path: Path, workload: Workload,
                   settings: Settings, *, load_test: bool) -> dict:
    """Start a server (``make_spec(model_path, port)``), run every phase against it, stop it.

    Raises ServerFailed (with the server's output tail) if it never serves a prediction or dies."""
    spec = make_spec(model_path, free_port())
    say = progress_printer(spec.name, "start")
    say(" ".join([*(f"{name}={shlex.quote(value)}" for name, value in spec.env.items()), *spec.argv]))
    # One start is a noisy sample (~0.1 s either way here): the figure is the median of several,
    # each a fresh server; the last one stays up for the other phases.
    start_times = []

    def time_start(server: ServerProcess) -> None:
        start_times.append(client.wait_for_first_prediction(server, workload.small_png,
                                                            settings.start_timeout))
        say(f"first prediction {start_times[-1]:.2f} s after spawn")

    for _ in range(settings.starts - 1):
        with ServerProcess(spec) as server:
            time_start(server)
    with ServerProcess(spec) as server:
        time_start(server)
        results = {"description": spec.description, "command": spec.argv, "environment": spec.env,
                   "start_to_first_prediction_s": round(statistics.median(start_times), 3),
                   "start_to_first_prediction_runs_s": [round(t, 3) for t in start_times]}
        results.update(run_phases(server, workload, settings, load_test=load_test))
    progress_printer(spec.name, "stop")("server stopped")
    return results


def phase_list(server: ServerProcess, workload: Workload, settings: Settings, *, load_test: bool) -> list:
    """(result key, progress label, measurement taking a progress callback), in running order."""
    url, clients = server.base_url, settings.concurrency
    phases = [
        ("latency_png_32", "latency 32x32 PNG",
         lambda say: client.sequential_latency(url, workload.small_png, settings.requests, say)),
        ("latency_jpeg_12mp", "latency 12 MP JPEG",
         lambda say: client.sequential_latency(url, workload.photo_jpeg, settings.big_requests, say)),
        ("batch", "batch throughput",
         lambda say: client.batch_throughput(url, workload.png_batch, settings.batches, say)),
        ("concurrent", f"{clients} concurrent clients",
         lambda say: client.concurrent_throughput(url, workload.small_png, clients,
                                                  settings.concurrent_seconds, say)),
    ]
    if load_test:
        phases.append(("load", "load test", lambda say: run_load_test(server, workload, settings, say)))
    return phases


def run_phases(server: ServerProcess, workload: Workload, settings: Settings, *, load_test: bool) -> dict:
    """The measurements after start-up, in order, with the server's memory after each phase; the
    memory figure compared between servers is the one right after the 32x32 latency phase."""
    results, timeline = {}, [{"after": "start", **server.memory()}]
    for key, label, measure in phase_list(server, workload, settings, load_test=load_test):
        say = progress_printer(server.spec.name, label)
        results[key] = mark_failed(measure(say))
        memory = server.memory()
        timeline.append({"after": key, **memory})
        say(f"done: {summary_line(results[key])}; server RSS {memory['rss_mb']} MB")
    results["memory_after_requests"] = {"after_requests": results["latency_png_32"]["requests"],
                                        **timeline[1]}
    results["memory_end"] = timeline[-1]
    results["memory_timeline"] = timeline
    return results


# What a phase's successful requests did per second: with any request failed, not a measure of the
# server (with 9,381 of 9,562 requests answered 429, the rest still made a "throughput").
THROUGHPUTS = ("requests_per_s", "images_per_s")


def mark_failed(result: dict) -> dict:
    """A phase with any failed request is FAILED ("failed": true) and has no throughput."""
    if result["failures"]:
        result["failed"] = True
        for key in THROUGHPUTS:
            result.pop(key, None)
    return result


def summary_line(result: dict) -> str:
    """A phase's headline figures, for the progress output."""
    if result.get("failed"):
        return (f"FAILED: {result['failures']} of {result['requests']} requests failed "
                f"({'; '.join(result.get('errors', []))[:300]})")
    parts = [f"{result['requests']} requests, {result['failures']} failed"]
    if "p50_ms" in result:
        parts.append(f"p50/p95/p99 {result['p50_ms']}/{result['p95_ms']}/{result['p99_ms']} ms")
    if "images_per_s" in result:
        parts.append(f"{result['images_per_s']} images/s")
    if "requests_per_s" in result:
        parts.append(f"{result['requests_per_s']} req/s")
    return ", ".join(parts)


def run_load_test(server: ServerProcess, workload: Workload, settings: Settings,
                  say: client.Progress) -> dict:
    """Concurrent clients for ``load_seconds``, with the server's memory before and after."""
    before = server.memory()
    say(f"{settings.concurrency} clients for {settings.load_seconds:g} s, RSS before {before['rss_mb']} MB")
    load = client.concurrent_throughput(server.base_url, workload.small_png, settings.concurrency,
                                        settings.load_seconds, say)
    after = server.memory()
    growth = round(after["rss_mb"] - before["rss_mb"], 1)
    say(f"RSS after {after['rss_mb']} MB ({growth:+} MB)")
    return {**load, "rss_before_mb": before["rss_mb"], "rss_after_mb": after["rss_mb"],
            "rss_growth_mb": growth}
