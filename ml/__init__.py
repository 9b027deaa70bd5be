"""The CIFAR-10 model, in three packages by who uses them:

- ``ml.inference``: what the web server imports to load and run the shipped model (the artifact,
  preprocessing, the CNN on ONNX Runtime, explanations, the example pictures); never TensorFlow.
- ``ml.training``: what ``make train`` runs (the recipe, data, the Keras network and its training
  loop, grid search, final fit, outlier exposure, int8 quantization, calibration, shipping).
- ``ml.evaluation``: how a model is measured (metrics, honest confidence, framed-as-photo shifts,
  real photos) and the figures and model card written with it.

``ml.images`` (decoding uploads and files) is shared by all three; ``python -m ml`` is ``ml/cli.py``.
"""

from pathlib import Path

# The model the repository ships and the server loads by default (make ship copies a trained one
# here). Its one source: the server's MODEL_PATH default (backend/config.py) and the CLI's --model.
SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "models" / "cifar10_cnn.pkl"
