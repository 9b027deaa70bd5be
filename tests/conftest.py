"""Shared fixtures: the Flask app on the shipped model, and a tiny pipeline trained in seconds."""

from __future__ import annotations

import atexit
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from backend.feedback.database import prepare as prepare_feedback_database
from ml import SHIPPED_MODEL
from tests.imagegen import CLASSES, pattern_dataset

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Feedback (backend/feedback/) goes to a database of the tests' own, never to the project's
# instance/ folder nor to a database the shell names: every app and server the tests start reads
# it, unless a test gives its own.
_FEEDBACK_DATABASE = tempfile.TemporaryDirectory(prefix="test-feedback-")
atexit.register(_FEEDBACK_DATABASE.cleanup)
os.environ["DATABASE_URL"] = f"sqlite:///{_FEEDBACK_DATABASE.name}/feedback.db"
# Its schema, as the launchers make it before the app starts (create_app only checks it).
prepare_feedback_database(os.environ["DATABASE_URL"])


@pytest.fixture(scope="session")
def model_path() -> Path:
    return Path(os.environ.get("TEST_MODEL_PATH", SHIPPED_MODEL))


@pytest.fixture(scope="session")
def app(model_path):
    from backend import create_app

    # Limits off: these tests fire hundreds of requests; tests/backend/test_limits.py covers them.
    app = create_app({"TESTING": True, "MODEL_PATH": str(model_path), "RATE_LIMIT": "",
                      "UPLOAD_RATE_LIMIT": "", "IMAGE_RATE_LIMIT": "", "WARM_UP": "sync"})
    yield app


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def patterns():
    """(train images, train labels, test images, test labels) with 4 easy synthetic classes."""
    images, labels = pattern_dataset(n_per_class=60, seed=0)
    names = np.asarray(CLASSES)[labels]
    return images[:200], names[:200], images[200:], names[200:]


TINY_CNN = {"widths": (16, 32, 32), "epochs": 6, "batch_size": 32, "learning_rate": 11.5,
            "verbose": 0, "whiten_bias_epochs": 1}


@pytest.fixture(scope="session")
def tiny_pipeline(patterns):
    """A narrow net fitted on the synthetic patterns: seconds, not minutes."""
    from ml.training.recipe import make_pipeline

    X, y, _, _ = patterns
    return make_pipeline(**TINY_CNN).fit(X, y)


@pytest.fixture(scope="session")
def tiny_artifact(tiny_pipeline, tmp_path_factory) -> Path:
    from ml.inference import artifact

    path = tmp_path_factory.mktemp("model") / "tiny.pkl"
    classes = list(tiny_pipeline.classes_)
    artifact.save(path, tiny_pipeline, classes=classes, params={"widths": [16, 32, 32]},
                  metrics={"accuracy": 1.0}, card={"version": "tiny-test", "input_size": [32, 32, 3]})
    return path
