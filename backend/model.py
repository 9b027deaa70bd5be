"""The classifier as the web layer sees it: the artifact's public face (classes, metadata,
``predict_proba``), loaded once per worker and shared by its threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml import artifact


class ModelService:
    def __init__(self, path):
        self.path = Path(path)
        loaded = artifact.load(self.path)  # verifies the SHA-256, restricted unpickler
        self.pipeline = loaded["pipeline"]
        self.classes: list[str] = loaded["classes"]
        self.sha256: str = loaded["sha256"]
        self.card: dict = loaded.get("card") or {}
        self.metrics: dict = loaded.get("metrics") or {}
        self.params: dict = loaded.get("params") or {}
        self.version: str = self.card.get("version") or self.sha256[:12]
        self.input_size = list(self.card.get("input_size") or [32, 32, 3])

    def warm_up(self) -> None:
        """Build the ONNX Runtime session now, not on the first user's request."""
        self.predict_proba([np.zeros(self.input_size, dtype=np.uint8)])

    def predict_proba(self, images) -> np.ndarray:
        return self.pipeline.predict_proba(images)

    def top_k(self, probabilities: np.ndarray, k: int) -> list[dict]:
        order = np.argsort(-probabilities, kind="stable")[:k]
        return [{"label": self.classes[i], "probability": float(probabilities[i])} for i in order]
