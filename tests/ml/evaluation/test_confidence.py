"""Honest confidence: temperature scaling, calibration error, the "Not sure" threshold, AUROC,
and the real-photo report (ml/evaluation/confidence.py, ml/evaluation/photos.py)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from bench.fixtures import encode
from ml.evaluation.confidence import (
    calibration_report,
    fit_temperature,
    left_out_not_sure_rate,
    not_sure_threshold,
    reliability,
    separation,
)
from ml.inference.cnn import softmax
from tests.conftest import ROOT
from tests.imagegen import gradient


def sampled_labels(logits, rng):
    """Labels drawn from softmax(logits): the probabilities are exactly right by construction."""
    probabilities = softmax(logits)
    return np.array([rng.choice(len(p), p=p) for p in probabilities])


def test_temperature_scaling_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2.5, (4000, 10))
    labels = sampled_labels(true_logits, rng)
    # A network whose logits are 3x too small (as label smoothing makes it): T should be ~1/3.
    assert fit_temperature(true_logits / 3, labels) == pytest.approx(1 / 3, rel=0.1)
    report = calibration_report(true_logits / 3, labels)
    assert report["ece"] < 0.03 < report["ece_before"]


def test_ece_of_a_calibrated_and_an_overconfident_model():
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.1, 1.0, 20000)
    honest = rng.uniform(size=20000) < confidence
    assert reliability(confidence, honest)["ece"] < 0.02
    assert reliability(confidence, rng.uniform(size=20000) < confidence - 0.1)["ece"] > 0.08


def test_not_sure_threshold_leaves_at_most_the_target_below_it():
    confidence = np.random.default_rng(2).uniform(size=1000)
    threshold = not_sure_threshold(confidence, 0.15)
    assert np.mean(confidence < threshold) <= 0.15
    assert np.mean(confidence < threshold) > 0.14


def test_left_out_rate_judges_each_picture_by_the_others_threshold():
    # 20 pictures: the 15 % threshold of any 19 others is their 3rd lowest (index floor(0.15 * 18)).
    confidence = np.arange(1, 21) / 20
    # Left out, each of the three lowest falls below the others' 3rd lowest; the fourth does not.
    # In-sample, the threshold is one of the pictures' own values and only two fall below it.
    assert left_out_not_sure_rate(confidence, 0.15) == 3 / 20
    assert np.mean(confidence < not_sure_threshold(confidence, 0.15)) == 2 / 20
    assert left_out_not_sure_rate(np.full(10, 0.5)) == 0.0


def test_bootstrap_intervals_hold_the_figure_and_narrow_with_more_photos():
    from ml.evaluation.confidence import balanced_accuracy, bootstrap_interval

    rng = np.random.default_rng(0)
    known, other = rng.normal(1.0, 1.0, 10), rng.normal(0.0, 1.0, 40)
    low, high = bootstrap_interval(separation, known, other)
    assert 0 <= low < separation(known, other) < high <= 1
    more = bootstrap_interval(separation, rng.normal(1.0, 1.0, 400), rng.normal(0.0, 1.0, 1600))
    assert more[1] - more[0] < (high - low) / 3  # 40x the photos: about a sixth of the width
    assert bootstrap_interval(separation, [0.9, 0.8, 0.7], [0.1, 0.2]) == [1.0, 1.0]  # no overlap
    by_class = [np.array([1, 1, 0, 1, 0]), np.array([1, 1, 1, 1, 1])]
    low, high = bootstrap_interval(balanced_accuracy, *by_class)
    assert balanced_accuracy(*by_class) == 0.8 and 0.5 <= low < 0.8 < high <= 1.0
    assert high == 1.0  # every class resampled within itself: the perfect one stays perfect
    assert bootstrap_interval(balanced_accuracy, np.array([1, 0]), np.array([1])) is None  # one photo


def test_separation_is_the_auroc():
    assert separation([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert separation([0.1], [0.9]) == 0.0
    assert separation([0.5, 0.5], [0.5]) == 0.5


@pytest.mark.slow
def test_photos_command_reports_accuracy_auroc_and_not_sure_rates(tiny_artifact, tmp_path):
    for folder, names in (("known", ["airplane", "cat"]), ("other", ["teapot", "violin"])):
        for name in names:
            (tmp_path / folder / name).mkdir(parents=True)
            for i in range(3):
                (tmp_path / folder / name / f"{i}.jpg").write_bytes(
                    encode(gradient(120, 90, seed=i + len(name)), "JPEG"))
    out = subprocess.run([sys.executable, "-m", "ml", "photos", str(tmp_path), "--model", str(tiny_artifact),
                          "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert set(report["per_class"]) == {"airplane", "cat"} and report["n_known"] == 6
    assert report["n_other"] == 6 and 0 <= report["auroc"] <= 1
    assert 0 <= report["balanced_accuracy"] <= 1
    assert 0 <= report["not_sure_known"] <= 1 and 0 <= report["not_sure_other"] <= 1
    assert 0 <= report["not_sure_known_left_out"] <= 1
    low, high = report["auroc_interval"]
    assert low <= report["auroc"] <= high
    low, high = report["balanced_accuracy_interval"]
    assert low <= report["balanced_accuracy"] <= high
    text = subprocess.run([sys.executable, "-m", "ml", "photos", str(tmp_path), "--model",
                           str(tiny_artifact)], capture_output=True, text=True, cwd=ROOT, timeout=120).stdout
    assert f"(6 photos; 95 % interval {low * 100:.1f}-{high * 100:.1f} %)" in text
    assert f"{report['auroc']:.3f} (95 % interval {report['auroc_interval'][0]:.3f}-" in text


def test_held_out_categories_are_fixed_and_excluded_from_outlier_images(tmp_path):
    from ml.evaluation.photos import is_held_out
    from ml.training.outliers import outlier_images

    names = [f"thing{i}" for i in range(30)]
    held = [n for n in names if is_held_out(n)]
    assert 5 < len(held) < 20 and held == [n for n in names if is_held_out(n)]  # deterministic
    trained = next(n for n in names if not is_held_out(n))
    for name in (held[0], trained):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.jpg").write_bytes(encode(gradient(200, 150, seed=3), "JPEG"))
    crops = outlier_images(tmp_path, crops_per_photo=4)
    assert crops.shape == (4, 32, 32, 3) and crops.dtype == np.uint8  # the trained category only
