"""Hyper-parameter search: GridSearchCV over the whole Pipeline, scored on one fixed, stratified
validation split carved from the training data (the test split is never looked at)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sklearn.model_selection import GridSearchCV, PredefinedSplit

from ml.training.data import SPLIT_SEED, Dataset, named_labels, stratified_split, validation_split
from ml.training.recipe import RECIPE, SEARCH_BUDGET, SEARCH_GRID, make_pipeline


def run_search(dataset: Dataset, grid=None, *, epochs=SEARCH_BUDGET["epochs"],
               train_subset=SEARCH_BUDGET["train_subset"], validation_size=None,
               seed=SPLIT_SEED, n_jobs=1, checkpoint_dir=None, verbose=1) -> GridSearchCV:
    grid = grid or SEARCH_GRID
    train, validation = validation_split(dataset, validation_size, seed)
    if train_subset and train_subset < len(train):  # budget mode: a stratified subset
        keep, _ = stratified_split(dataset.labels[train], len(train) - train_subset, seed)
        train = train[keep]
    indices = np.concatenate([train, validation])
    fold = np.r_[np.full(len(train), -1), np.zeros(len(validation), dtype=int)]
    search = GridSearchCV(
        make_pipeline(**{**RECIPE, "epochs": epochs, "verbose": verbose,
                         "checkpoint_dir": checkpoint_dir, "random_state": seed}),
        grid, cv=PredefinedSplit(fold), scoring="accuracy", n_jobs=n_jobs, refit=False,
        verbose=3 if verbose else 0, error_score="raise", return_train_score=False,
    )
    search.fit(dataset.images[indices], named_labels(dataset, indices))
    search.split_ = {"n_train": len(train), "n_validation": len(validation),
                     "seed": seed, "epochs": epochs}
    return search


@contextmanager
def cluster(scheduler: str | None) -> Iterator[object]:
    """Where the candidates run. ``None``: local processes (``n_jobs``). ``"local:N"``: a Dask
    ``LocalCluster`` of N worker processes, started here and stopped afterwards.
    ``"tcp://host:8786"``: an existing Dask scheduler, whose workers need this project installed.
    With a scheduler, GridSearchCV hands its candidates to the Dask workers through joblib's dask
    backend; yields the ``distributed.Client``."""
    if not scheduler:
        yield None
        return
    import joblib
    from dask.distributed import Client, LocalCluster

    if scheduler.startswith("local:"):
        n_workers = int(scheduler.removeprefix("local:"))
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as local, Client(local) as client, \
                joblib.parallel_config(backend="dask"):
            yield client
    else:
        with Client(scheduler) as client, joblib.parallel_config(backend="dask"):
            yield client


def save_results(search: GridSearchCV, folder, stem="grid_search") -> dict:
    """cv_results_ as CSV and JSON, a PNG plot; returns the JSON summary."""
    from ml.evaluation.reports import plot_search

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    results = search.cv_results_
    columns = [k for k in results if k.startswith(("param_", "mean_", "std_", "rank_", "split0"))]
    rows = [{k: _plain(results[k][i]) for k in columns} for i in range(len(results["params"]))]
    header = ",".join(columns)
    lines = [header] + [",".join(_csv(row[k]) for k in columns) for row in rows]
    (folder / f"{stem}.csv").write_text("\n".join(lines) + "\n")
    summary = {
        "best_params": {k: _plain(v) for k, v in search.best_params_.items()},
        "best_score": float(search.best_score_),
        "grid": {k: [_plain(v) for v in values] for k, values in search.param_grid.items()},
        "split": getattr(search, "split_", {}),
        "candidates": [{"params": {k: _plain(v) for k, v in p.items()},
                        "validation_accuracy": float(results["mean_test_score"][i]),
                        "fit_seconds": float(results["mean_fit_time"][i])}
                       for i, p in enumerate(results["params"])],
    }
    (folder / f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot_search(results, folder / f"{stem}.png")
    return summary


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    return value


def _csv(value) -> str:
    text = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return f'"{text}"' if "," in text else text
