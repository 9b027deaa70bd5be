"""The classifier as the web layer sees it: the artifact's Model (classes, metadata,
``predict_proba``, ``top_k``), loaded once per worker and shared by its threads, plus whether it
is warm yet."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from ml.inference import artifact

log = logging.getLogger(__name__)


class ModelService:
    def __init__(self, path, expected_sha256: str | None = None):
        self.path = Path(path)
        # Verifies the SHA-256 (against the sidecar and the pinned hash), restricted unpickler.
        self.model = artifact.load(self.path, expected_sha256)
        # Set once the model has run once (ONNX Runtime session built): /api/ready says 200.
        self.ready = threading.Event()

    def warm_up(self) -> None:
        """Build the ONNX Runtime session now, not on the first user's request: a graph that
        cannot run (e.g. weights that do not fit its network) raises ArtifactError."""
        try:
            self.model.predict_proba([np.zeros(self.model.input_size, dtype=np.uint8)])
        except Exception as error:
            raise artifact.ArtifactError(f"{self.path}: the model cannot run: {error}") from error
        self.ready.set()

    def warm_up_in_background(self) -> threading.Thread:
        """Warm up while the app already answers /api/health (and /api/ready with 503). A model
        that cannot run is logged and never becomes ready. Not a daemon thread: the interpreter
        waits for it at exit instead of stopping under a running ONNX Runtime call, which aborts
        the process ("terminate called without an active exception")."""
        def run():
            try:
                self.warm_up()
            except artifact.ArtifactError as error:
                log.critical("the model cannot run: %s", error)

        thread = threading.Thread(target=run, name="model-warm-up")
        thread.start()
        return thread
