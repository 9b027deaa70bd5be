"""Int8 inference (``python -m ml quantize``): ONNX Runtime's static quantization of a net's
float32 graph.

The convolutions are nearly all of an airbench96-style net's time in ONNX Runtime, and int8 ones
run several times faster on CPUs with VNNI. Weights are quantized per output channel (int8),
activations per tensor (uint8) with min-max ranges from the float32 net run over training images;
quantize-dequantize (QDQ) nodes let ONNX Runtime fuse each conv with its quantization. The first
two convs (the patch whitening, on raw pixels, and the first 128-wide conv) and the linear head
stay float32: they are cheap, and the net is most sensitive there (docs/experiments/ compares
what to keep float32 and the range methods).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from ml.inference import artifact
from ml.training.data import SPLIT_SEED, Dataset, named_labels, validation_split
from ml.training.final_fit import save_with_card

CALIBRATION_IMAGES = 512  # training images whose activations set the int8 ranges
CALIBRATION_BATCH = 64
FLOAT32_CONVS = 2  # the first convs, kept float32 with the head (see above)
METHOD = (f"ONNX Runtime static quantization (QDQ): int8 weights per output channel, uint8 "
          f"activations with min-max ranges; the first {FLOAT32_CONVS} convs and the head float32")


def quantize_graph(float_graph: Path, calibration_inputs: np.ndarray) -> bytes:
    """The int8 (QDQ) ONNX graph of ``float_graph`` (a file), its activation ranges calibrated on
    ``calibration_inputs`` (the network's own NHWC float32 input)."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    graph = onnx.load(str(float_graph)).graph
    input_name = graph.input[0].name
    convs = [node.name for node in graph.node if node.op_type == "Conv"]
    kept_float32 = convs[:FLOAT32_CONVS] + [node.name for node in graph.node if node.op_type == "MatMul"]
    inputs = np.asarray(calibration_inputs, np.float32)

    class Batches(CalibrationDataReader):
        def __init__(self):
            self._batches = iter(range(0, len(inputs), CALIBRATION_BATCH))

        def get_next(self):
            start = next(self._batches, None)
            return None if start is None else {input_name: inputs[start:start + CALIBRATION_BATCH]}

    with tempfile.TemporaryDirectory(prefix="cifar-cnn-int8-") as folder:
        out = Path(folder) / "int8.onnx"
        quantize_static(str(float_graph), str(out), Batches(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
                        nodes_to_exclude=kept_float32)
        return out.read_bytes()


def quantize_artifact(model_path, dataset: Dataset, out_path, *, class_photos=None,
                      validation_size=None, seed=SPLIT_SEED) -> dict:
    """An artifact that serves int8 (``quantize_graph`` for each net): activation ranges from
    training images, then evaluated and calibrated again on the validation split. Writes a new
    artifact."""
    model = artifact.load(model_path)
    pipeline = model.pipeline
    train, validation = validation_split(dataset, validation_size, seed)
    count = min(CALIBRATION_IMAGES, len(train))
    sample = np.sort(np.random.default_rng(seed).choice(train, count, replace=False))
    pipeline.named_steps["cnn"].quantize(pipeline[:-1].transform(dataset.images[sample]))
    validation_features = (pipeline[:-1].transform(dataset.images[validation]),
                           named_labels(dataset, validation))
    kept = ("data", "grid_search", "training_seconds", "hardware", "outlier_exposure", "feedback")
    return save_with_card(pipeline, dataset, train, validation, validation_features, out_path, {
        **{k: model.card[k] for k in kept if k in model.card},
        "quantization": {"base_model": model.version, "calibration_images": count,
                         "method": METHOD,
                         "validation_accuracy_before": model.metrics["accuracy"]},
    }, class_photos)
