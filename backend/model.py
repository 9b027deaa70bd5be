"""The classifier as the web layer sees it: the artifact's public face (classes, metadata,
``predict_proba``), loaded once per worker and shared by its threads."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from ml import artifact
from ml.confidence import NOT_SURE_FALLBACK

log = logging.getLogger(__name__)


class ModelService:
    def __init__(self, path, expected_sha256: str | None = None):
        self.path = Path(path)
        # Verifies the SHA-256 (against the sidecar and the pinned hash), restricted unpickler.
        loaded = artifact.load(self.path, expected_sha256)
        self.pipeline = loaded["pipeline"]
        self.classes: list[str] = loaded["classes"]
        self.sha256: str = loaded["sha256"]
        self.card: dict = loaded.get("card") or {}
        self.metrics: dict = loaded.get("metrics") or {}
        self.params: dict = loaded.get("params") or {}
        self.version: str = self.card.get("version") or self.sha256[:12]
        self.input_size = list(self.card.get("input_size") or [32, 32, 3])
        self.not_sure_threshold = float(self.card.get("not_sure_threshold", NOT_SURE_FALLBACK))
        calibration = self.card.get("calibration") or {}
        self.calibration = {k: calibration[k] for k in ("temperature", "ece_before", "ece", "n")
                            if k in calibration} or None

        # Set once the model has run once (ONNX Runtime session built): /api/ready says 200.
        self.ready = threading.Event()

    def warm_up(self) -> None:
        """Build the ONNX Runtime session now, not on the first user's request: a graph that
        cannot run (e.g. one that references external data files) raises ArtifactError."""
        try:
            self.predict_proba([np.zeros(self.input_size, dtype=np.uint8)])
        except Exception as error:
            raise artifact.ArtifactError(f"{self.path}: the model cannot run: {error}") from error
        self.ready.set()

    def warm_up_in_background(self) -> threading.Thread:
        """Warm up while the worker already answers /api/health (and /api/ready with 503). A model
        that cannot run ends the worker with gunicorn's "failed to boot" status (3), which stops
        the server instead of restarting a worker that can never serve."""
        def run():
            try:
                self.warm_up()
            except artifact.ArtifactError as error:
                log.critical("cannot start: %s", error)
                logging.shutdown()
                os._exit(3)

        thread = threading.Thread(target=run, name="model-warm-up", daemon=True)
        thread.start()
        return thread

    def predict_proba(self, images) -> np.ndarray:
        return self.pipeline.predict_proba(images)

    def prepare(self, image) -> np.ndarray:
        """One picture -> the network's input (1, h, w, 3), by the pipeline's own preprocessing:
        a batch keeps these small arrays, not the decoded pictures."""
        return self.pipeline[:-1].transform([image])

    def predict_prepared(self, inputs: np.ndarray) -> np.ndarray:
        return self.pipeline[-1].predict_proba(inputs)

    def top_k(self, probabilities: np.ndarray, k: int) -> list[dict]:
        order = np.argsort(-probabilities, kind="stable")[:k]
        return [{"label": self.classes[i], "probability": float(probabilities[i])} for i in order]
