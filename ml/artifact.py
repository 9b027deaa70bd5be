"""The shipped model file: one pickle holding the whole Pipeline plus its metadata, a sidecar
SHA-256, and a loader that checks the hash and unpickles only the classes a model needs.

Loading imports scikit-learn, numpy and onnxruntime, never TensorFlow.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import Path

ARTIFACT_FORMAT = "cifar-cnn/1"

# Everything an artifact may reference. Anything else (os.system, builtins.eval, ...) is refused
# before it runs: a pickle is code, and this file may come from outside.
ALLOWED_GLOBALS = {
    ("sklearn.pipeline", "Pipeline"),
    ("ml.preprocessing", "ImagePreprocessor"),
    ("ml.cnn", "CNNClassifier"),
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


def load(path, expected_sha256: str | None = None) -> dict:
    """Verify and load an artifact: returns its dict with ``sha256`` added.

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
    payload["sha256"] = digest
    return payload
