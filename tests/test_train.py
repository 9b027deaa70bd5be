"""The search and final-fit commands' outputs, on tiny synthetic data and a narrow net."""

import json

import numpy as np
import pytest

from ml import artifact
from ml.data import Dataset
from ml.search import run_search, save_results
from ml.train import best_params, train_final
from tests.conftest import TINY_CNN
from tests.imagegen import CLASSES, pattern_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dataset():
    images, labels = pattern_dataset(n_per_class=40, seed=1)
    return Dataset(images, labels, CLASSES[:4])


def test_search_writes_results_and_its_best_params_feed_training(dataset, tmp_path):
    grid = {"cnn__learning_rate": [4.0, 11.5], "cnn__widths": [(16, 32, 32)]}
    search = run_search(dataset, grid, epochs=2, train_subset=None, validation_size=40, verbose=0)
    summary = save_results(search, tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"grid_search.csv", "grid_search.json",
                                                     "grid_search.png"}
    assert len(summary["candidates"]) == 2 and summary["split"]["n_validation"] == 40
    saved = json.loads((tmp_path / "grid_search.json").read_text())
    assert saved["best_score"] == max(c["validation_accuracy"] for c in saved["candidates"])
    assert (tmp_path / "grid_search.csv").read_text().count("\n") == 3  # header + 2 rows
    params = best_params(tmp_path / "grid_search.json")
    assert params["widths"] == (16, 32, 32) and params["learning_rate"] in (4.0, 11.5)


def test_final_fit_writes_artifact_card_and_figures(dataset, tmp_path):
    params = {k: v for k, v in TINY_CNN.items() if k not in ("epochs", "verbose")}
    card = train_final(dataset, tmp_path / "model.pkl", params=params, epochs=4, validation_size=40,
                       verbose=0)
    for name in ("model.pkl", "model.pkl.sha256", "model_card.json", "model_card.md",
                 "confusion_matrix.png"):
        assert (tmp_path / name).is_file(), name
    loaded = artifact.load(tmp_path / "model.pkl")
    assert loaded["metrics"]["n"] == 40 and 0 <= loaded["metrics"]["accuracy"] <= 1
    assert set(loaded["metrics"]["per_class"]) == set(CLASSES[:4])
    assert card["data"]["n_train"] == 120 and card["training_seconds"] > 0
    assert len(card["epoch_history"]["val_accuracy"]) == 4
    assert all(v is not None for v in card["epoch_history"]["val_accuracy"])
    assert loaded["pipeline"].named_steps["cnn"].checkpoint_dir is None  # no local paths shipped
    assert "Top-1 accuracy" in (tmp_path / "model_card.md").read_text()
    assert np.array(card["confusion_matrix"]).sum() == 40
