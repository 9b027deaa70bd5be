"""How the benchmark's report judges the figures: targets met or not, failed phases, a new model
against the previous one, and this checkout against an earlier commit (``--before``)."""

import importlib

import pytest

from bench import report
from bench.report import COST_VS_PREVIOUS_TARGET, FIGURES, TOLERANCE, previous_model_section
from bench.runner import mark_failed

SETTINGS = {"requests": 500, "big_requests": 50, "batches": 10, "concurrency": 16,
            "concurrent_seconds": 15.0, "load_seconds": 60.0}


def label(*key: str) -> str:
    """The table label of the figure at ``key``."""
    (figure,) = [figure for figure in FIGURES if figure.key == key]
    return figure.label.format(**SETTINGS)


def row(markdown: str, first_cell: str) -> list[str]:
    """The cells of the table row whose first cell is ``first_cell``."""
    (line,) = [line for line in markdown.splitlines() if line.startswith(f"| {first_cell} |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def verdict(met: bool | None) -> str:
    """How the targets table words a target met, not met, or not measured."""
    table = "\n".join(report.targets_table([{"target": "t", "goal": "g", "measured": "m", "met": met}]))
    return row(table, "t")[3]


def test_the_targets_table_tells_met_from_not_met_from_not_measured():
    assert len({verdict(True), verdict(False), verdict(None)}) == 3


def cost_verdict(new_ms: float, old_ms: float) -> str:
    results = {
        "model_benchmark": {"predict_proba_32x32": {"p50_ms": new_ms}},
        "previous_model": {"model": {"path": "old.pkl", "sha256": "ab" * 32, "bytes": 15 * 2**20},
                           "model_benchmark": {"predict_proba_32x32": {"p50_ms": old_ms}},
                           "server": {}},
    }
    text = "\n".join(previous_model_section(results, {"ours": {}}, SETTINGS))
    return row(text, "In-process cost vs the previous model")[3]


def test_a_model_within_the_cost_budget_meets_the_target_and_one_over_it_does_not():
    assert cost_verdict(0.9 * COST_VS_PREVIOUS_TARGET * 2.0, 2.0) == verdict(True)
    assert cost_verdict(1.1 * COST_VS_PREVIOUS_TARGET * 2.0, 2.0) == verdict(False)


def server_results(concurrent: dict, p50_ms: float = 10.0, rss_mb: float = 250.0) -> dict:
    latency = {"requests": 500, "failures": 0, "p50_ms": p50_ms, "p95_ms": 12.0, "p99_ms": 13.0}
    memory = {"rss_mb": rss_mb, "pss_mb": 200.0}
    return {"description": "a server", "start_to_first_prediction_s": 1.0, "latency_png_32": latency,
            "concurrent": mark_failed(dict(concurrent)), "memory_after_requests": memory,
            "memory_end": memory, "memory_timeline": [{"after": "start", **memory}]}


def new_results(tmp_path) -> dict:
    model = tmp_path / "model.pkl"
    model.write_bytes(b"model")
    return report.new_results(SETTINGS, model, {"jpeg_12mp": {"bytes": 3_500_000}})


CONCURRENT = {"requests": 144, "failures": 0, "requests_per_s": 9.6, "p50_ms": 1700.0}


def test_a_phase_with_failed_requests_is_reported_failed_without_throughput_or_ratio(tmp_path):
    results = new_results(tmp_path)
    throttled = {"requests": 9562, "failures": 9381, "requests_per_s": 12.1, "p50_ms": 3.0,
                 "errors": ["HTTP 429: Too many pictures (x9381)"]}
    results["servers"] = {"ours": server_results(throttled), "baseline": server_results(CONCURRENT)}
    report.finish(results)

    concurrent = results["servers"]["ours"]["concurrent"]
    assert concurrent["failed"] and "requests_per_s" not in concurrent
    (line,) = results["failed_phases"]
    assert all(part in line for part in ("ours", "concurrent", "9381", "9562", "HTTP 429: Too many pictures"))
    markdown = report.to_markdown(results)
    assert line in markdown
    no_ratio = report.describe_ratio(None)
    assert row(markdown, label("concurrent", "requests_per_s"))[1:4] == [
        report.FAILED, report.fmt(9.6, 1, "req/s"), no_ratio]
    assert row(markdown, label("concurrent", "p50_ms"))[1:4] == [
        report.FAILED, report.fmt(1700.0, 1, "ms"), no_ratio]
    assert row(markdown, label("concurrent", "failures"))[1:3] == ["9381", "0"]  # counts stay
    # The phases without failures keep their figures and ratios.
    assert row(markdown, label("latency_png_32", "p50_ms"))[3] == report.describe_ratio(1.0)
    assert "failed" not in results["servers"]["baseline"]["concurrent"]
    assert "failed" not in results["servers"]["ours"]["latency_png_32"]


@pytest.mark.parametrize(("after", "before", "higher_is_better", "noise", "worse"), [
    (10.9, 10.0, False, 0.0, False),  # 9 % slower: within
    (11.2, 10.0, False, 0.0, True),   # 12 % slower
    (8.0, 10.0, False, 0.0, False),   # faster
    (91.0, 100.0, True, 0.0, False),  # 9 % less throughput
    (88.0, 100.0, True, 0.0, True),   # 12 % less
    (1, 0, False, 0.0, True),         # a failure where there was none
    (3.0, 0.0, False, 5.0, False),    # a change within the noise
    (8.0, 0.0, False, 5.0, True),
    (None, 10.0, False, 0.0, None),   # not measured on one side: not judged
])
def test_worse_than_before_allows_the_tolerance(after, before, higher_is_better, noise, worse):
    assert report.worse_than_before(after, before, higher_is_better, TOLERANCE, noise) is worse


def test_the_before_section_gives_both_columns_the_ratio_and_flags_what_got_worse(tmp_path):
    results = new_results(tmp_path)
    slower = server_results(CONCURRENT, p50_ms=10.0 * (1 + 2 * TOLERANCE), rss_mb=200.0)
    results["servers"] = {"ours": slower}
    results["before"] = {"ref": "abc123", "commit": "ab" * 20, "subject": "an earlier commit",
                         "model": {"sha256": "cd" * 32}, "server": server_results(CONCURRENT)}
    report.finish(results)

    latency, memory = label("latency_png_32", "p50_ms"), label("memory_after_requests", "rss_mb")
    assert results["before"]["worse"] == [latency]
    markdown = report.to_markdown(results)
    section = markdown[markdown.index("`abc123`"):]
    after_cell, before_cell, ratio, _, flag = row(section, latency)[1:6]
    assert (after_cell, before_cell) == (report.fmt(12.0, 2, "ms"), report.fmt(10.0, 2, "ms"))
    assert ratio == report.describe_ratio(1.2) and flag == report.WORSE
    assert row(section, memory)[3] == report.describe_ratio(0.8) and row(section, memory)[5] == ""
    assert latency in section.split("\n\n")[1]  # named in the verdict above the table


def test_a_phase_that_fails_only_after_is_worse():
    failing = server_results({"requests": 10, "failures": 3, "requests_per_s": 1.0, "p50_ms": 1.0})
    worse = report.figures_worse_than_before(failing, server_results(CONCURRENT), SETTINGS)
    assert label("concurrent", "requests_per_s") in worse
    assert label("latency_png_32", "p50_ms") not in worse


@pytest.mark.parametrize("module", ["bench.cli", "bench.hostile", "bench.interleaved"])
def test_the_command_line_help_renders(module, capsys):
    """argparse expands each help text only when --help is asked for: a stray % fails there."""
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0 and "--before" in capsys.readouterr().out
