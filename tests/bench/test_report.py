"""The benchmark: what it measures (the server as launched, limits off, its whole process tree) and
how its report judges the figures (failed phases, a new model against the previous one)."""

import sys
import time

from backend.config import from_env
from bench import report
from bench.fixtures import free_port
from bench.report import COST_VS_PREVIOUS_TARGET, previous_model_section
from bench.runner import mark_failed
from bench.servers import ServerProcess, ServerSpec, ours_spec


def section(new_ms: float, old_ms: float) -> str:
    results = {
        "model_benchmark": {"predict_proba_32x32": {"p50_ms": new_ms}},
        "previous_model": {"model": {"path": "old.pkl", "sha256": "ab" * 32, "bytes": 15 * 2**20},
                           "model_benchmark": {"predict_proba_32x32": {"p50_ms": old_ms}},
                           "server": {}},
    }
    return "\n".join(previous_model_section(results, {"ours": {}}, {"requests": 500}))


def row(markdown: str, label: str) -> list[str]:
    """The cells of the table row whose first cell is ``label``."""
    (line,) = [line for line in markdown.splitlines() if line.startswith(f"| {label} |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def verdict(met: bool | None) -> str:
    """How the targets table words a target met, not met, or not measured."""
    table = "\n".join(report.targets_table([{"target": "t", "goal": "g", "measured": "m", "met": met}]))
    return row(table, "t")[3]


def test_the_targets_table_tells_met_from_not_met():
    assert len({verdict(True), verdict(False), verdict(None)}) == 3


def test_a_model_within_the_cost_budget_meets_the_target():
    text = section(3.5 * 2.0, 2.0)
    assert f"≤ {COST_VS_PREVIOUS_TARGET:g}×" in text
    assert row(text, "In-process cost vs the previous model")[2:] == ["3.50×", verdict(True)]


def test_a_model_over_the_cost_budget_is_reported_as_not_met():
    text = section(5.0 * 2.0, 2.0)
    assert row(text, "In-process cost vs the previous model")[2:] == ["5.00×", verdict(False)]


def server_results(concurrent: dict) -> dict:
    latency = {"requests": 500, "failures": 0, "p50_ms": 10.0, "p95_ms": 12.0, "p99_ms": 13.0}
    memory = {"rss_mb": 250.0, "pss_mb": 200.0}
    return {"description": "a server", "start_to_first_prediction_s": 1.0, "latency_png_32": latency,
            "concurrent": mark_failed(concurrent), "memory_after_requests": memory,
            "memory_end": memory, "memory_timeline": [{"after": "start", **memory}]}


def test_a_phase_with_failed_requests_is_reported_failed_without_throughput_or_ratio(tmp_path):
    model = tmp_path / "model.pkl"
    model.write_bytes(b"model")
    settings = {"requests": 500, "big_requests": 50, "batches": 10, "concurrency": 16,
                "concurrent_seconds": 15.0, "load_seconds": 60.0}
    results = report.new_results(settings, model, {"jpeg_12mp": {"bytes": 3_500_000}})
    throttled = {"requests": 9562, "failures": 9381, "requests_per_s": 12.1, "p50_ms": 3.0,
                 "errors": ["HTTP 429: Too many pictures (x9381)"]}
    results["servers"] = {"ours": server_results(throttled),
                          "baseline": server_results({"requests": 144, "failures": 0, "requests_per_s": 9.6,
                                                      "p50_ms": 1700.0})}
    report.finish(results)

    concurrent = results["servers"]["ours"]["concurrent"]
    assert concurrent["failed"] and "requests_per_s" not in concurrent
    assert results["failed_phases"] == ["ours concurrent: 9381 of 9562 requests failed "
                                        "(HTTP 429: Too many pictures (x9381))"]
    markdown = report.to_markdown(results)
    assert "ours concurrent: 9381 of 9562 requests failed" in markdown
    assert row(markdown, "Throughput, 16 concurrent clients")[1:4] == ["FAILED", "9.6 req/s", "—"]
    assert row(markdown, "Latency p50, 16 concurrent clients")[1:4] == ["FAILED", "1700.0 ms", "—"]
    assert row(markdown, "Failures, 16 concurrent clients")[1:3] == ["9381", "0"]
    # The phases without failures keep their figures and ratios.
    assert row(markdown, "Latency 32×32 PNG, p50")[1:4] == ["10.00 ms", "10.00 ms", "1 (1.0× higher)"]
    assert "failed" not in results["servers"]["baseline"]["concurrent"]
    assert "failed" not in results["servers"]["ours"]["latency_png_32"]


def test_the_performance_phases_run_the_launched_server_with_every_per_client_limit_off(tmp_path):
    spec = ours_spec(tmp_path / "model.pkl", 8000)
    assert spec.argv == [sys.executable, "-m", "backend.serve"]
    limits = {name for name in from_env() if name.endswith("RATE_LIMIT")}
    assert limits and {name: spec.env.get(name) for name in limits} == dict.fromkeys(limits, "")
    assert all(f"{name}=''" in spec.description for name in limits)


def test_server_memory_counts_the_whole_process_tree():
    """A master whose worker started a process of its own: all three are counted."""
    sleeper = "import time; time.sleep(60)"
    worker = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {sleeper!r}])"
    master = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {worker!r}])"
    spec = ServerSpec("tree", "three processes", free_port(), [sys.executable, "-c", master])
    with ServerProcess(spec) as server:
        deadline = time.monotonic() + 20
        while (memory := server.memory())["processes"] < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert memory["processes"] == 3 and memory["rss_mb"] > 0
