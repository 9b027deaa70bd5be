"""Model-level figures, in-process and without HTTP: how long the loaded pipeline takes to
classify one picture, and how closely its ONNX graph agrees with the Keras network rebuilt from the
same weights (the export check, on real validation images when the training data is at hand)."""

from __future__ import annotations

import os
import time

import numpy as np

from ml.inference import artifact
from ml.inference.cnn import softmax

AGREEMENT_TARGET = 1e-4
INT8_AGREEMENT_TARGET = 0.97


def single_image_latency(pipeline, image, repeats: int) -> dict:
    return latency(lambda: pipeline.predict_proba([image]), repeats)


def latency(call, repeats: int) -> dict:
    for _ in range(min(10, repeats)):
        call()  # warm-up: session, caches
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    p50, p95, p99 = np.percentile(timings, [50, 95, 99])
    return {"n": repeats, "p50_ms": round(float(p50), 3), "p95_ms": round(float(p95), 3),
            "p99_ms": round(float(p99), 3)}


def agreement_images(n: int) -> tuple[np.ndarray, str]:
    """The fixed validation split when the shared data is there, else varied synthetic pictures."""
    from ml.cli import DEFAULT_DATA

    if DEFAULT_DATA.exists():
        from ml.training.data import load_dataset, validation_split

        dataset = load_dataset(DEFAULT_DATA)
        _, validation = validation_split(dataset)
        return dataset.images[validation[:n]], f"{n} validation images"
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), f"{n} random images"


def keras_probabilities(pipeline, images: np.ndarray) -> np.ndarray:
    """The same prediction done by Keras: same preprocessing, weights and test-time augmentation."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    cnn = pipeline.named_steps["cnn"]
    x = pipeline.named_steps["preprocess"].transform(images)
    logits = cnn.views_logits(x, keras_runs(cnn))
    return softmax(logits / cnn.temperature_)


def keras_runs(cnn) -> list:
    """One Keras ``predict`` per net of the CNN step (one, or an ensemble's members)."""
    networks = [net.keras_network() for net in getattr(cnn, "members_", [cnn])]
    return [lambda views, network=network: network.predict(views, batch_size=256, verbose=0)
            for network in networks]


def measure_model(model_path, repeats: int = 1000, n_agreement: int = 1000) -> dict:
    from ml.inference.explain import occlusion_map

    started = time.perf_counter()
    model = artifact.load(model_path)
    pipeline = model.pipeline
    load_seconds = time.perf_counter() - started
    cifar_like = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    figures = {"load_s": round(load_seconds, 3),
               "predict_proba_32x32": single_image_latency(pipeline, cifar_like, repeats)}
    # The occlusion map (POST /api/explain) as a multiple of one prediction.
    figures["explain_32x32"] = latency(lambda: occlusion_map(model, model.prepare(cifar_like)),
                                       max(10, repeats // 20))
    figures["explain_32x32"]["x_prediction"] = round(
        figures["explain_32x32"]["p50_ms"] / figures["predict_proba_32x32"]["p50_ms"], 1)
    images, description = agreement_images(n_agreement)
    served, keras = pipeline.predict_proba(images), keras_probabilities(pipeline, images)
    difference = np.abs(served - keras)
    precision = model.cnn.inference_precision
    figures["onnx_vs_keras"] = {"images": description, "inference_precision": precision,
                                "max_abs_diff": float(difference.max()),
                                "mean_abs_diff": float(difference.mean()),
                                "top1_agreement": float(np.mean(served.argmax(1) == keras.argmax(1)))}
    if precision == "float32":  # the export itself: the same numbers to round-off
        target = {"target": "ONNX vs Keras probabilities, max |Δ|", "goal": f"≤ {AGREEMENT_TARGET:g}",
                  "measured": f"{figures['onnx_vs_keras']['max_abs_diff']:.1e}",
                  "met": figures["onnx_vs_keras"]["max_abs_diff"] <= AGREEMENT_TARGET}
    else:  # int8 rounds on purpose: the same answers, nearly always
        target = {"target": "int8 ONNX vs float32 Keras, same top-1",
                  "goal": f"≥ {INT8_AGREEMENT_TARGET:.0%}",
                  "measured": f"{figures['onnx_vs_keras']['top1_agreement']:.1%}",
                  "met": figures["onnx_vs_keras"]["top1_agreement"] >= INT8_AGREEMENT_TARGET}
    figures["targets"] = [target]
    return figures
