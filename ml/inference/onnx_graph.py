"""The trained network as an ONNX graph, built from its Keras weights with the ``onnx`` package alone
(no TensorFlow), so the server can make it when it loads the artifact.

Why not keep Keras' own export in the artifact: that graph holds the weights in its own folded form
(BatchNorm merged into some convs), so the artifact carried every weight twice, once for Keras
(training on, benchmarks) and once for ONNX Runtime: 79 MB for one airbench96-size net. Built here
from the one stored copy, the artifact holds each weight once, and large kernels as float16
(``compact_weights``): ~20 MB for that net. ONNX Runtime computes in float32 either way.

The graph mirrors ``ml.training.network.build_network`` layer for layer; ``CNNClassifier.fit`` checks the two
agree (``ONNX_PARITY_TOLERANCE``) before a model is ever saved.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# The network's constants live here, not in ml.training.network, which imports Keras (this module must not).
LOGIT_SCALE = 1 / 9
BATCHNORM_EPSILON = 1e-12
OPSET = 17
# Arrays with more values than this (the 3x3 kernels and the head) are stored as float16: they are
# ~all of the bytes. BatchNorm statistics, biases and the whitening filters stay float32: tiny,
# and a BatchNorm variance of 1e-9 has no float16 value.
FLOAT16_MIN_SIZE = 4096


def compact_weights(weights) -> list[np.ndarray]:
    """The weights as stored in the artifact: large arrays rounded to float16, the rest float32."""
    return [np.asarray(w, np.float16 if np.size(w) > FLOAT16_MIN_SIZE else np.float32)
            for w in weights]


def build_onnx(weights, *, image_size: int, block_depth: int) -> bytes:
    """``onnx_model`` as bytes."""
    return onnx_model(weights, image_size=image_size, block_depth=block_depth).SerializeToString()


def save_onnx(weights, folder, *, image_size: int, block_depth: int) -> Path:
    """``onnx_model`` written to ``folder`` as ``network.onnx`` with its weights beside it in
    ``network.weights``; returns the graph's path. Loaded from such files, ONNX Runtime holds one
    copy of the weights (~40 MB for an airbench96-size net); loaded from bytes it holds two."""
    import onnx

    path = Path(folder) / "network.onnx"
    onnx.save_model(onnx_model(weights, image_size=image_size, block_depth=block_depth), path,
                    save_as_external_data=True, all_tensors_to_one_file=True,
                    location="network.weights", size_threshold=FLOAT16_MIN_SIZE)
    return path


def onnx_model(weights, *, image_size: int, block_depth: int):
    """The ONNX model (``onnx.ModelProto``) computing the logits of NHWC float32 images
    ``(n, image_size, image_size, 3)``.

    ``weights`` in Keras' order (``model.get_weights()``): whitening kernel and bias, then for each
    conv its kernel and its BatchNorm's beta, moving mean and moving variance, then the head."""
    from onnx import TensorProto, helper, numpy_helper

    weights = [np.asarray(w, np.float32) for w in weights]
    expected = 2 + 3 * block_depth * 4 + 1
    if len(weights) != expected:
        raise ValueError(f"expected {expected} weight arrays for block depth {block_depth}, "
                         f"got {len(weights)}")
    nodes, initializers = [], []
    counter = iter(range(10**6))

    def constant(array) -> str:
        name = f"w{next(counter)}"
        initializers.append(numpy_helper.from_array(np.asarray(array, np.float32), name))
        return name

    def node(op: str, inputs: list[str], output: str | None = None, **attributes) -> str:
        output = output or f"t{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def conv(x, kernel, bias=None, padding: int = 1) -> str:
        # Keras kernels are (kh, kw, in, out); ONNX wants (out, in, kh, kw).
        inputs = [x, constant(kernel.transpose(3, 2, 0, 1))] + ([constant(bias)] if bias is not None else [])
        return node("Conv", inputs, pads=[padding] * 4)

    def batch_norm(x, beta, mean, variance) -> str:
        return node("BatchNormalization", [x, constant(np.ones_like(beta)), constant(beta),
                                           constant(mean), constant(variance)],
                    epsilon=BATCHNORM_EPSILON)

    def gelu(x) -> str:  # ml.training.network.gelu: 0.5 x (1 + erf(x / sqrt 2))
        erf = node("Erf", [node("Mul", [x, constant(np.float32(0.7071067811865476))])])
        return node("Mul", [node("Mul", [x, node("Add", [erf, constant(np.float32(1.0))])]),
                            constant(np.float32(0.5))])

    remaining = iter(weights)
    x = node("Transpose", ["image"], perm=[0, 3, 1, 2])  # NHWC in, NCHW inside
    x = gelu(conv(x, next(remaining), next(remaining), padding=0))
    for _ in range(3):
        def conv_norm(x, pool: bool = False):
            x = conv(x, next(remaining))
            if pool:
                x = node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
            return batch_norm(x, next(remaining), next(remaining), next(remaining))

        x = gelu(conv_norm(x, pool=True))
        if block_depth == 2:
            x = gelu(conv_norm(x))
        else:
            shortcut = x
            x = gelu(conv_norm(x))
            x = gelu(node("Add", [conv_norm(x), shortcut]))
    x = node("Flatten", [node("GlobalMaxPool", [x])])
    head = next(remaining)
    node("Mul", [node("MatMul", [x, constant(head)]), constant(np.float32(LOGIT_SCALE))], "logits")
    graph = helper.make_graph(
        nodes, "airbench_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, image_size, image_size, 3])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, head.shape[1]])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="ml.inference.onnx_graph")
    model.ir_version = 8  # what ONNX Runtime >= 1.20 reads with opset 17
    return model
