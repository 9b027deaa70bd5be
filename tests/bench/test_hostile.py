"""``python -m bench.hostile --before``: each attack's outcome, time and memory, before and after,
side by side, with what changed or got worse."""

import pytest

from bench import report
from bench.hostile import TIME_NOISE_S, changes, to_markdown
from bench.report import TOLERANCE


def result(outcome="422", seconds=1.0, peak_rss_mb=600.0, growth_mb=10.0) -> dict:
    return {"outcome": outcome, "seconds": seconds, "peak_rss_mb": peak_rss_mb, "peak_growth_mb": growth_mb}


@pytest.mark.parametrize(("after", "found"), [
    (result(), []),
    (result(outcome="200"), ["outcome changed"]),  # a refusal became an answer
    (result(seconds=1 + 2 * TOLERANCE), ["time worse"]),
    (result(seconds=1 + TOLERANCE / 2), []),
    (result(peak_rss_mb=600 * (1 + 2 * TOLERANCE)), ["memory worse"]),
    (result(peak_rss_mb=600 * (1 + TOLERANCE / 2)), []),
])
def test_changes_flags_an_outcome_changed_and_time_or_memory_beyond_the_tolerance(after, found):
    assert changes(after, result()) == found


def test_a_quick_refusal_twice_as_slow_is_within_the_noise():
    assert changes(result(seconds=TIME_NOISE_S / 2), result(seconds=TIME_NOISE_S / 4)) == []


def test_the_table_gives_both_servers_columns_the_ratios_and_the_changes():
    results = {"date": "2026-12-06T00:00:00+00:00",
               "machine": {"load_average_at_start": [1.0], "cpu_count": 2},
               "servers": {"ours": {"description": "this checkout"},
                           "before": {"description": "the earlier commit"}},
               "attacks": {"a bomb": {"ours": result(outcome="200", seconds=3.0, peak_rss_mb=900.0),
                                      "before": result(seconds=1.5, peak_rss_mb=600.0)}}}
    (line,) = [line for line in to_markdown(results).splitlines() if line.startswith("| a bomb |")]
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[1:3] == ["422", "200"]  # before, after
    assert cells[5] == report.describe_ratio(2.0) and cells[8] == report.describe_ratio(1.5)
    assert cells[9] == "outcome changed, time worse, memory worse"
