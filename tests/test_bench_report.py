"""The benchmark report's judgement of a new model against the previous one (issue #12's budget)."""

from bench.report import COST_VS_PREVIOUS_TARGET, previous_model_section


def section(new_ms: float, old_ms: float) -> str:
    results = {
        "model_benchmark": {"predict_proba_32x32": {"p50_ms": new_ms}},
        "previous_model": {"model": {"path": "old.pkl", "sha256": "ab" * 32, "bytes": 15 * 2**20},
                           "model_benchmark": {"predict_proba_32x32": {"p50_ms": old_ms}},
                           "server": {}},
    }
    return "\n".join(previous_model_section(results, {"ours": {}}, {"requests": 500}))


def test_a_model_within_the_cost_budget_meets_the_target():
    text = section(3.5 * 2.0, 2.0)
    assert f"≤ {COST_VS_PREVIOUS_TARGET:g}×" in text and "| 3.50× | ✅ yes |" in text


def test_a_model_over_the_cost_budget_is_reported_as_not_met():
    text = section(5.0 * 2.0, 2.0)
    assert "| 5.00× | ❌ **no** |" in text
