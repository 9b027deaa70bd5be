"""The baseline `make bench` compares against: the same model, served the common way.

A plain Flask app that imports TensorFlow/Keras at start-up, rebuilds the Keras network from the
artifact's weights, decodes each upload with ``Image.open(...).convert("RGB")``, preprocesses it
with the model's own ``ImagePreprocessor`` and classifies it with ``model.predict`` on the model's
test-time views (the image and its mirror, shared among an ensemble's nets), softmax, top-k. The endpoints
and JSON shapes are those of the real API, so the same client measures both.

    MODEL_PATH=models/cifar10_cnn.pkl .venv/bin/gunicorn -w 1 -k gthread --threads 4 \\
        'bench.baseline_server:create_app()'
    .venv/bin/python -m bench.baseline_server --model models/cifar10_cnn.pkl --port 8001
"""

from __future__ import annotations

import argparse
import io
import os

import numpy as np
from flask import Flask, jsonify, request
from PIL import Image

from backend.config import from_env
from ml.inference import artifact
from ml.inference.cnn import softmax

DEFAULT_TOP_K = 5
MAX_BATCH_FILES = 64


class KerasClassifier:
    """The artifact's network(s) rebuilt in Keras (TensorFlow backend) with the trained weights."""

    def __init__(self, model_path: str):
        loaded = artifact.load(model_path)
        self.cnn = loaded.cnn
        self.preprocess = loaded.pipeline.named_steps["preprocess"]
        self.artifact = loaded  # classes, version, top_k
        self.classes, self.version = loaded.classes, loaded.version
        self.runs = self._build_keras_models(self.cnn)

    @staticmethod
    def _build_keras_models(cnn):
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        from bench.model import keras_runs

        return keras_runs(cnn)  # imports Keras, and with it TensorFlow

    def predict_proba(self, images: list[Image.Image]) -> np.ndarray:
        """Class probabilities: logits averaged over the model's test-time views (one predict call
        per net), softmax at the model's temperature."""
        x = self.preprocess.transform(images)
        return softmax(self.cnn.views_logits(x, self.runs) / self.cnn.temperature_)

    def top_k(self, probabilities: np.ndarray, k: int) -> list[dict]:
        return self.artifact.top_k(probabilities, k)


def read_image(upload) -> Image.Image:
    return Image.open(io.BytesIO(upload.read())).convert("RGB")


def requested_top_k(n_classes: int) -> int:
    return min(max(int(request.form.get("top_k", DEFAULT_TOP_K)), 1), n_classes)


def error(status: int, message: str):
    return jsonify({"error": {"message": message}}), status


def create_app(model_path: str | None = None) -> Flask:
    """The baseline app; the model comes from ``model_path`` or the ``MODEL_PATH`` environment."""
    classifier = KerasClassifier(model_path or os.environ["MODEL_PATH"])
    app = Flask(__name__)

    @app.get("/api/health")
    def health():
        return jsonify({"status": "ok", "model_loaded": True, "model_version": classifier.version})

    @app.post("/api/predict")
    def predict():
        if "image" not in request.files:
            return error(400, "Send the picture as the multipart field 'image'.")
        top_k = requested_top_k(len(classifier.classes))
        probabilities = classifier.predict_proba([read_image(request.files["image"])])[0]
        return jsonify({"predictions": classifier.top_k(probabilities, top_k), "top_k": top_k,
                        "model_version": classifier.version})

    @app.post("/api/predict/batch")
    def predict_batch():
        uploads = request.files.getlist("images")
        if not 1 <= len(uploads) <= MAX_BATCH_FILES:
            return error(400, f"Send 1 to {MAX_BATCH_FILES} pictures as the multipart field 'images'.")
        top_k = requested_top_k(len(classifier.classes))
        probabilities = classifier.predict_proba([read_image(upload) for upload in uploads])
        results = [{"filename": upload.filename or "", "predictions": classifier.top_k(p, top_k)}
                   for upload, p in zip(uploads, probabilities)]
        return jsonify({"results": results, "top_k": top_k, "model_version": classifier.version})

    return app


def main() -> None:
    """Serve with werkzeug's threaded development server (for trying the baseline by hand)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=from_env()["MODEL_PATH"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    create_app(args.model).run(host=args.host, port=args.port, threaded=True)


if __name__ == "__main__":
    main()
