"""The shipped model file: one pickle holding the whole Pipeline plus its metadata, a sidecar
SHA-256, and a loader that checks the hash and unpickles only the classes a model needs.

Loading imports scikit-learn, numpy and onnxruntime, never TensorFlow.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from ml.inference.cnn import TemperatureScaledClassifier

ARTIFACT_FORMAT = "cifar-cnn/1"
# The "Not sure" threshold of a model whose card has none (one saved before thresholds were chosen
# from data: ``ml.evaluation.confidence.not_sure_threshold``).
NOT_SURE_FALLBACK = 0.5

# Everything an artifact may reference. Anything else (os.system, builtins.eval, ...) is refused
# before it runs: a pickle is code, and this file may come from outside.
ALLOWED_GLOBALS = {
    ("sklearn.pipeline", "Pipeline"),
    ("ml.inference.preprocessing", "ImagePreprocessor"),
    ("ml.inference.cnn", "CNNClassifier"),
    ("ml.inference.ensemble", "CNNEnsemble"),
    # numpy arrays and scalars, as pickled by numpy 1.x (numpy.core) and 2.x (numpy._core)
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    *((f"numpy.{core}.{module}", name) for core in ("core", "_core") for module, name in (
        ("numeric", "_frombuffer"), ("multiarray", "_reconstruct"), ("multiarray", "scalar"))),
}


class ArtifactError(RuntimeError):
    """The model file is missing, altered, or not one of ours."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise ArtifactError(f"refusing to load {module}.{name}: not a class a model artifact uses")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def save(path, pipeline, *, classes, params: dict, metrics: dict, card: dict | None = None) -> str:
    """Write ``path`` and ``path.sha256``; returns the hash."""
    path = Path(path)
    payload = {
        "format": ARTIFACT_FORMAT,
        "pipeline": pipeline,
        "classes": [str(c) for c in classes],
        "params": params,
        "metrics": metrics,
        "card": card or {},
    }
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    digest = sha256_of(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    checksum_path(path).write_text(f"{digest}  {path.name}\n")
    return digest


@dataclass(frozen=True)
class Model:
    """A loaded artifact: the fitted Pipeline and what is known about it. Everything that uses the
    model (the server, the command line, the benchmarks, recalibration) goes through this."""

    pipeline: Pipeline
    classes: list[str]
    sha256: str
    params: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    card: dict = field(default_factory=dict)

    @property
    def cnn(self) -> TemperatureScaledClassifier:
        """The network step: a CNNClassifier, or a CNNEnsemble of them."""
        return self.pipeline.named_steps["cnn"]

    @property
    def version(self) -> str:
        return self.card.get("version") or self.sha256[:12]

    @property
    def input_size(self) -> list[int]:
        return list(self.card.get("input_size") or [32, 32, 3])

    @property
    def not_sure_threshold(self) -> float:
        """Below this top-1 probability the picture is probably none of the classes."""
        return float(self.card.get("not_sure_threshold", NOT_SURE_FALLBACK))

    @property
    def calibration(self) -> dict | None:
        calibration = self.card.get("calibration") or {}
        return {k: calibration[k] for k in ("temperature", "ece_before", "ece", "n")
                if k in calibration} or None

    def predict_proba(self, images) -> np.ndarray:
        """Pictures (PIL images or arrays, any size) -> class probabilities (n, classes)."""
        return self.pipeline.predict_proba(images)

    def prepare(self, image) -> np.ndarray:
        """One picture -> the network's input (1, h, w, 3), by the pipeline's own preprocessing."""
        return self.pipeline[:-1].transform([image])

    def predict_prepared(self, inputs: np.ndarray) -> np.ndarray:
        return self.pipeline[-1].predict_proba(inputs)

    def network_input(self, image) -> np.ndarray:
        """What the network sees of a picture, before normalisation: uint8 (h, w, 3), made by the
        pipeline's own preprocessing step (centre square, shrink, training-JPEG encoding)."""
        from ml.inference.preprocessing import images_to_array

        preprocess = self.pipeline.named_steps["preprocess"]
        return images_to_array([image], preprocess.image_size, preprocess.jpeg_quality)[0]

    def top_k(self, probabilities: np.ndarray, k: int) -> list[dict]:
        """The k most probable classes, most probable first (ties: class order)."""
        order = np.argsort(-probabilities, kind="stable")[:k]
        return [{"label": self.classes[i], "probability": float(probabilities[i])} for i in order]


def load(path, expected_sha256: str | None = None) -> Model:
    """Verify and load an artifact.

    The sidecar catches a corrupt or truncated file; ``expected_sha256`` (the deployment's pinned
    hash, MODEL_SHA256) also catches a replaced one, whose sidecar an attacker could recompute."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"model file not found: {path}")
    sidecar = checksum_path(path)
    if not sidecar.is_file():
        raise ArtifactError(f"checksum file not found: {sidecar} (refusing an unverified model)")
    data = path.read_bytes()
    expected = sidecar.read_text().split()[0] if sidecar.read_text().strip() else ""
    digest = sha256_of(data)
    if digest != expected:
        raise ArtifactError(f"{path} does not match its SHA-256 ({digest[:12]}... != "
                            f"{expected[:12]}...): the file was altered or is incomplete")
    if expected_sha256 and digest != expected_sha256.strip().lower():
        raise ArtifactError(f"{path} is not the pinned model: its SHA-256 is {digest[:12]}..., "
                            f"MODEL_SHA256 says {expected_sha256.strip()[:12]}...")
    try:
        payload = _RestrictedUnpickler(io.BytesIO(data)).load()
    except ArtifactError:
        raise
    except Exception as error:  # a corrupt stream raises many kinds of errors
        raise ArtifactError(f"{path} is not a readable model artifact: {error}") from error
    if not isinstance(payload, dict) or payload.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(f"{path} is not a {ARTIFACT_FORMAT} model artifact")
    return Model(pipeline=payload["pipeline"], classes=list(payload["classes"]), sha256=digest,
                 params=payload.get("params") or {}, metrics=payload.get("metrics") or {},
                 card=payload.get("card") or {})
