"""Results: machine info, the figures table (ours, baseline, ratio), the targets, JSON and Markdown."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import psutil

from bench.servers import LIMITS_OFF
from ml.inference.artifact import checksum_path

PACKAGES = ("gunicorn", "flask", "numpy", "pillow", "scikit-learn", "onnxruntime", "tensorflow",
            "tensorflow-cpu", "keras", "requests")


@dataclass(frozen=True)
class Figure:
    """One row of the figures table: where its value sits in a server's results."""

    label: str
    unit: str
    key: tuple[str, ...]
    higher_is_better: bool = False
    digits: int = 1
    noise: float = 0.0  # a change this small is never flagged as worse (see worse_than_before)


FIGURES = (
    Figure("Start to first prediction", "s", ("start_to_first_prediction_s",), digits=2),
    Figure("Latency 32×32 PNG, p50", "ms", ("latency_png_32", "p50_ms"), digits=2),
    Figure("Latency 32×32 PNG, p95", "ms", ("latency_png_32", "p95_ms"), digits=2),
    Figure("Latency 32×32 PNG, p99", "ms", ("latency_png_32", "p99_ms"), digits=2),
    Figure("Latency 12 MP JPEG, p50", "ms", ("latency_jpeg_12mp", "p50_ms")),
    Figure("Latency 12 MP JPEG, p95", "ms", ("latency_jpeg_12mp", "p95_ms")),
    Figure("Latency 12 MP JPEG, p99", "ms", ("latency_jpeg_12mp", "p99_ms")),
    Figure("RSS after {requests} requests (master + workers)", "MB", ("memory_after_requests", "rss_mb")),
    Figure("PSS after {requests} requests (master + workers)", "MB", ("memory_after_requests", "pss_mb")),
    Figure("Batch throughput (batches of 64 × 32×32 PNG)", "images/s", ("batch", "images_per_s"),
           higher_is_better=True),
    Figure("Throughput, {concurrency} concurrent clients", "req/s", ("concurrent", "requests_per_s"),
           higher_is_better=True),
    Figure("Latency p50, {concurrency} concurrent clients", "ms", ("concurrent", "p50_ms")),
    Figure("Failures, {concurrency} concurrent clients", "", ("concurrent", "failures"), digits=0),
    Figure("Failures, all sequential phases", "", ("sequential_failures",), digits=0),
    Figure("Load test ({load_seconds:g} s): requests", "", ("load", "requests"), higher_is_better=True,
           digits=0),
    Figure("Load test: failures", "", ("load", "failures"), digits=0),
    Figure("Load test: RSS before", "MB", ("load", "rss_before_mb")),
    Figure("Load test: RSS after", "MB", ("load", "rss_after_mb")),
    # A difference of two RSS readings: a few MB either way is the allocator, not a leak.
    Figure("Load test: RSS growth", "MB", ("load", "rss_growth_mb"), noise=5.0),
    Figure("RSS at the end", "MB", ("memory_end", "rss_mb")),
    Figure("Highest RSS after a phase", "MB", ("memory_peak", "rss_mb")),
)
# A phase with any failed request: all its figures but its failure count read FAILED, with no ratio.
FAILED = "FAILED"
# The mark of a figure more than the tolerance worse after than before.
WORSE = "**worse**"


def lookup(results: dict | None, key: tuple[str, ...]):
    """The value at ``key`` in nested dicts, or None where any part is missing."""
    value = results
    for part in key:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def phase_failed(server: dict | None, key: tuple[str, ...]) -> bool:
    """Whether the figure at ``key`` comes from a phase that had a failed request (the phase's
    failure count excepted: that one is still reported)."""
    phase = lookup(server, key[:1])
    return isinstance(phase, dict) and bool(phase.get("failed")) and key[-1] != "failures"


def ratio(ours, baseline) -> float | None:
    if ours is None or not baseline:
        return None
    return ours / baseline


def describe_ratio(value: float | None) -> str:
    """0.071 -> '0.071 (14.1× lower)'."""
    if value is None:
        return "—"
    if value == 0:
        return "0"
    direction = f"{1 / value:.1f}× lower" if value < 1 else f"{value:.1f}× higher"
    return f"{value:.3g} ({direction})"


# Issue #31: after a restructure, time and memory stay within 10 % of before.
TOLERANCE = 0.10


def worse_than_before(after, before, higher_is_better: bool, tolerance: float = TOLERANCE,
                      noise: float = 0.0) -> bool | None:
    """Whether ``after`` is more than ``tolerance`` (a fraction of ``before``) worse than
    ``before``, and by more than ``noise``; None when either is missing."""
    if after is None or before is None:
        return None
    change = before - after if higher_is_better else after - before
    return change > max(tolerance * abs(before), noise)


def fmt(value, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:.{digits}f}" if isinstance(value, float) or digits else str(value)
    return f"{text} {unit}".strip()


# ----------------------------------------------------------------------------------------- targets

Check = Callable[[dict, dict | None], tuple[str, bool | None]]


@dataclass(frozen=True)
class Target:
    """A goal and how to check it: ``check(ours, baseline)`` -> (measured, met or None)."""

    label: str
    goal: str
    check: Check


def relative(key: tuple[str, ...], max_ratio: float) -> Check:
    """Met when ours ÷ baseline ≤ max_ratio; None (not checked) without a baseline."""
    def check(ours: dict, baseline: dict | None) -> tuple[str, bool | None]:
        if phase_failed(ours, key) or phase_failed(baseline, key):
            return FAILED, False
        value = ratio(lookup(ours, key), lookup(baseline, key))
        return describe_ratio(value), None if value is None else value <= max_ratio
    return check


def absolute(key: tuple[str, ...], limit: float, unit: str, digits: int = 1) -> Check:
    """Met when ours ≤ limit."""
    def check(ours: dict, baseline: dict | None) -> tuple[str, bool | None]:
        if phase_failed(ours, key):
            return FAILED, False
        value = lookup(ours, key)
        return fmt(value, digits, unit), None if value is None else value <= limit
    return check


# The model may cost up to this multiple of the model shipped before it, in-process, measured side
# by side (issue #12: accuracy first; absolute times differ ~3x between the CPUs here).
COST_VS_PREVIOUS_TARGET = 4.0

TARGETS = (
    Target("p50 latency 32×32 PNG vs baseline", "≥ 5× lower", relative(("latency_png_32", "p50_ms"), 1 / 5)),
    Target("RSS after {requests} requests vs baseline", "≤ ½",
           relative(("memory_after_requests", "rss_mb"), 1 / 2)),
    Target("Start to first prediction vs baseline", "≥ 5× faster",
           relative(("start_to_first_prediction_s",), 1 / 5)),
    # Issue #12's memory budget: 300 MB per worker (the bench runs one worker; this counts the
    # master too). Latency is judged against the previous model instead (previous_model_section).
    Target("RSS after {requests} requests", "≤ 300 MB",
           absolute(("memory_after_requests", "rss_mb"), 300, "MB")),
    Target("Load test failures", "0", absolute(("load", "failures"), 0, "", 0)),
    Target("Load test RSS growth", "≤ 60 MB", absolute(("load", "rss_growth_mb"), 60, "MB")),
    # Master + 1 worker through the whole run (402 MB before the launcher set glibc's allocator up).
    Target("Highest RSS after a phase", "≤ 320 MB", absolute(("memory_peak", "rss_mb"), 320, "MB")),
)


def evaluate_targets(servers: dict, settings: dict) -> list[dict]:
    ours, baseline = servers.get("ours") or {}, servers.get("baseline")
    rows = []
    for target in TARGETS:
        measured, met = target.check(ours, baseline)
        rows.append({"target": target.label.format(**settings), "goal": target.goal,
                     "measured": measured, "met": met})
    return rows


# ------------------------------------------------------------------------------------ environment

def machine_info() -> dict:
    """What the figures depend on: CPUs, memory, OS, Python, package versions, and how busy the
    machine was (the benchmark shares the CPUs with anything else running)."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return {
        "cpu_count": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "packages": versions,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def model_info(model_path: Path) -> dict:
    sidecar = checksum_path(model_path)
    sha256 = sidecar.read_text().split()[0] if sidecar.is_file() else None
    return {"path": str(model_path), "bytes": model_path.stat().st_size, "sha256": sha256}


def new_results(settings: dict, model_path: Path, workload: dict) -> dict:
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "model": model_info(model_path),
        "settings": settings,
        "workload": workload,
        "servers": {},
    }


def add_derived_figures(server: dict) -> None:
    """Figures computed from others: failures summed over the sequential phases, the highest RSS
    after any phase."""
    server["sequential_failures"] = sum(lookup(server, (phase, "failures")) or 0
                                        for phase in ("latency_png_32", "latency_jpeg_12mp", "batch"))
    if server.get("memory_timeline"):
        server["memory_peak"] = max(server["memory_timeline"], key=lambda memory: memory["rss_mb"])


def failed_phases(name: str, server: dict) -> list[str]:
    """``server phase: n of m requests failed (errors)`` for each phase with a failed request."""
    return [f"{name} {phase}: {result['failures']} of {result['requests']} requests failed"
            + (f" ({'; '.join(result['errors'])})" if result.get("errors") else "")
            for phase, result in server.items() if isinstance(result, dict) and result.get("failed")]


def finish(results: dict) -> None:
    servers = dict(results["servers"])
    if results.get("previous_model"):
        servers["previous model"] = results["previous_model"]["server"]
    if results.get("before"):
        servers["before"] = results["before"]["server"]
    for server in servers.values():
        add_derived_figures(server)
    results["failed_phases"] = [line for name, server in servers.items()
                                for line in failed_phases(name, server)]
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = evaluate_targets(results["servers"], results["settings"])
    if results.get("before"):
        results["before"]["worse"] = figures_worse_than_before(
            results["servers"]["ours"], results["before"]["server"], results["settings"])


# --------------------------------------------------------------------------------------- Markdown

def figures_table(first: dict | None, second: dict | None, settings: dict,
                  names=("Ours", "Baseline"), tolerance: float | None = None) -> list[str]:
    """Each figure of two servers side by side, with first ÷ second; with a ``tolerance``, a last
    column flags where the first is more than that worse than the second (after vs before)."""
    first = first or {}
    flag_header = f" More than {tolerance:.0%} worse |" if tolerance is not None else ""
    lines = [f"| Figure | {names[0]} | {names[1]} | {names[0]} ÷ {names[1].lower()} | Better |{flag_header}",
             "|---|---:|---:|---:|---|" + ("---|" if tolerance is not None else "")]
    for figure in FIGURES:
        mine, theirs = lookup(first, figure.key), lookup(second, figure.key)
        failed = phase_failed(first, figure.key), phase_failed(second, figure.key)
        if mine is None and theirs is None and not any(failed):
            continue
        cells = [FAILED if failed_here else fmt(value, figure.digits, figure.unit)
                 for value, failed_here in zip((mine, theirs), failed)]
        compared = "—" if any(failed) else describe_ratio(ratio(mine, theirs))
        line = (f"| {figure.label.format(**settings)} | {cells[0]} | {cells[1]} | {compared} "
                f"| {'higher' if figure.higher_is_better else 'lower'} |")
        if tolerance is not None:
            line += f" {WORSE if figure_worse(figure, first, second, tolerance) else ''} |"
        lines.append(line)
    return lines


def figure_worse(figure: Figure, after: dict | None, before: dict | None,
                 tolerance: float = TOLERANCE) -> bool:
    """Whether ``figure`` is more than ``tolerance`` worse after than before. A phase that failed
    after but not before is worse; a figure missing on either side, or from a phase that failed
    before, cannot be judged (not worse)."""
    if phase_failed(before, figure.key):
        return False
    if phase_failed(after, figure.key):
        return True
    return bool(worse_than_before(lookup(after, figure.key), lookup(before, figure.key),
                                  figure.higher_is_better, tolerance, figure.noise))


def figures_worse_than_before(after: dict, before: dict, settings: dict,
                              tolerance: float = TOLERANCE) -> list[str]:
    """The labels of the figures more than ``tolerance`` worse after than before."""
    return [figure.label.format(**settings) for figure in FIGURES
            if figure_worse(figure, after, before, tolerance)]


def targets_table(targets: list[dict]) -> list[str]:
    verdicts = {True: "✅ yes", False: "❌ **no**", None: "— not measured"}
    lines = ["| Target | Goal | Measured | Met |", "|---|---|---:|---|"]
    lines += [f"| {t['target']} | {t['goal']} | {t['measured']} | {verdicts[t['met']]} |" for t in targets]
    return lines


METHODS = [
    "## How the figures are measured",
    "",
    "- The servers run one after the other on 127.0.0.1, never at the same time; the client is "
    "one Python process on the same machine.",
    "- Ours is started by its launcher, `python -m backend.serve`, as `make run` and Render start it, "
    "with every per-client limit off (" + ", ".join(f"`{name}=''`" for name in LIMITS_OFF) + "): "
    "every request comes from one address, and these phases measure the server, not the limits "
    "(`python -m bench.hostile` runs with them on).",
    "- A phase with any failed request is marked FAILED: its figures get no value and no ratio, "
    "and the targets that use them are not met.",
    "- Start to first prediction: from spawning the server process until the first 200 from "
    "`POST /api/predict` (polled every 50 ms); the median of `starts` fresh starts (each run's "
    "figure is in results.json).",
    "- Latency: sequential requests on one keep-alive `requests.Session` (after 3 uncounted warm-up "
    "requests), wall time until the whole answer is read; the multipart bodies are encoded once "
    "beforehand. 12 MP JPEG: 4000×3000, gradients + noise, quality 90.",
    "- RSS/PSS: psutil, summed over the server's whole process tree (master, workers and anything "
    "they started), right after the 32×32 latency phase (and after every other phase, for the "
    "highest). Summed RSS counts pages shared between the master and its forked workers once per "
    "process; PSS splits them.",
    "- Batch throughput: sequential 64-image batch requests (after one warm-up batch), images per "
    "second of wall time.",
    "- Concurrent throughput and load test: N Locust users (headless, bench/locustfile.py), requests "
    "back to back for the given time; successful requests per second; a failure is an exception or "
    "any answer other than a 200 with predictions. Locust runs on the same 2 CPUs as the server.",
    "- After vs before (`--before REF`): the commit is checked out in a temporary git worktree and its "
    "server, started by its own launcher with its own model file, is measured right after ours, the "
    f"same way; a figure more than {TOLERANCE:.0%} worse than before is flagged (a failed phase "
    "counts as worse; a change within a figure's noise, such as a few MB of RSS growth, does not).",
    "",
]


def to_markdown(results: dict) -> str:
    machine, settings, servers = results["machine"], results["settings"], results["servers"]
    model = results["model"]
    busy = machine["load_average_at_start"][0] > 0.5 * (machine["cpu_count"] or 1)
    lines = [
        "# Benchmark: ours vs a plain Flask + Keras server",
        "",
        f"Run {results['date']} on {machine['cpu_count']} CPUs ({machine['processor']}, "
        f"{machine['memory_gb']} GB, {machine['platform']}), Python {machine['python']}; "
        f"load average {machine['load_average_at_start'][0]} at start, "
        f"{machine['load_average_at_end'][0]} at the end"
        + (" — **the machine was busy with other work: figures are pessimistic**." if busy else "."),
        f"Model: `{model['path']}` (sha256 {str(model['sha256'])[:12]}…, {model['bytes'] / 2**20:.1f} MB).",
        f"Settings: {settings.get('starts', 1)} starts, {settings['requests']} × 32×32 PNG, "
        f"{settings['big_requests']} × 12 MP JPEG "
        f"({results['workload']['jpeg_12mp']['bytes'] / 2**20:.1f} MB request), {settings['batches']} "
        f"batches of 64, {settings['concurrency']} clients for {settings['concurrent_seconds']:g} s, "
        f"load test {settings['load_seconds']:g} s. Client and servers share the machine's CPUs.",
        "",
    ]
    lines += [f"- **{name}**: {server['description']}" for name, server in servers.items()]
    if results.get("failed_phases"):
        lines += ["", "**FAILED phases** (requests that got no prediction; their figures are not "
                      "reported):", "", *(f"- {line}" for line in results["failed_phases"])]
    if "model_benchmark" in results:
        model_figures = results["model_benchmark"]
        latency = model_figures["predict_proba_32x32"]
        lines += ["", "## The model in-process (no HTTP)", "",
                  f"Artifact load {model_figures['load_s']:.2f} s; `predict_proba` on one 32×32 image: "
                  f"p50 {latency['p50_ms']:.2f} ms, p95 {latency['p95_ms']:.2f} ms, p99 "
                  f"{latency['p99_ms']:.2f} ms ({latency['n']} calls); ONNX "
                  f"({model_figures['onnx_vs_keras'].get('inference_precision', 'float32')}) vs "
                  f"Keras (float32) on {model_figures['onnx_vs_keras']['images']}: max |Δp| "
                  f"{model_figures['onnx_vs_keras']['max_abs_diff']:.1e}, same top-1 on "
                  f"{model_figures['onnx_vs_keras'].get('top1_agreement', 1.0):.1%}."
                  + (f" Occlusion map (`/api/explain`, {model_figures['explain_32x32']['n']} calls): p50 "
                     f"{model_figures['explain_32x32']['p50_ms']:.1f} ms = "
                     f"{model_figures['explain_32x32']['x_prediction']:g} × one prediction."
                     if "explain_32x32" in model_figures else ""), "",
                  *targets_table(model_figures["targets"])]
    lines += ["", "## Figures", "",
              *figures_table(servers.get("ours"), servers.get("baseline"), settings), "",
              "## Targets", "", *targets_table(results["targets"]), ""]
    if "baseline" not in servers:
        lines += ["The baseline was skipped (`--skip-baseline`): comparisons are not measured.", ""]
    if "previous_model" in results:
        lines += previous_model_section(results, servers, settings)
    if "before" in results:
        lines += before_section(results["before"], servers.get("ours"), settings)
    return "\n".join(lines + METHODS)


def before_section(before: dict, after: dict | None, settings: dict) -> list[str]:
    """This checkout's server against the one of an earlier commit, measured in the same run."""
    worse = before["worse"]
    verdict = (f"**{len(worse)} figure{'s' * (len(worse) != 1)} more than {TOLERANCE:.0%} worse**: "
               + "; ".join(worse) + "." if worse else f"No figure is more than {TOLERANCE:.0%} worse.")
    return [f"## After vs before (`{before['ref']}`)", "",
            f"Before: `{before['ref']}` = {before['commit'][:12]} ({before['subject']}), checked out in a "
            f"temporary git worktree and started by its own launcher with its own model file "
            f"(sha256 {str(before['model']['sha256'])[:12]}…); measured right after this checkout's "
            f"server, the same way. {verdict}",
            "", *figures_table(after, before["server"], settings, names=("After", "Before"),
                               tolerance=TOLERANCE), ""]


def previous_model_section(results: dict, servers: dict, settings: dict) -> list[str]:
    """This model against the one shipped before, both in our server: what the new one costs."""
    previous = results["previous_model"]
    model = previous["model"]
    new_p50 = results["model_benchmark"]["predict_proba_32x32"]["p50_ms"]
    old_p50 = previous["model_benchmark"]["predict_proba_32x32"]["p50_ms"]
    cost = describe_ratio(ratio(new_p50, old_p50))
    within = new_p50 <= COST_VS_PREVIOUS_TARGET * old_p50
    return ["## This model vs the previous one (both in our server)", "",
            f"Previous model: `{model['path']}` (sha256 {str(model['sha256'])[:12]}…, "
            f"{model['bytes'] / 2**20:.1f} MB). In-process `predict_proba`, one 32×32 image, p50: "
            f"{new_p50:.2f} ms vs {old_p50:.2f} ms = **{cost}**.",
            "", *targets_table([{"target": "In-process cost vs the previous model",
                                 "goal": f"≤ {COST_VS_PREVIOUS_TARGET:g}×",
                                 "measured": f"{new_p50 / old_p50:.2f}×", "met": within}]),
            "", *figures_table(servers.get("ours"), previous["server"], settings,
                               names=("This model", "Previous")), ""]


def write(results: dict, out_dir: Path) -> tuple[Path, Path]:
    """results.json (every raw figure) and results.md (the tables); returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "results.json", out_dir / "results.md"
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(to_markdown(results))
    return json_path, md_path
