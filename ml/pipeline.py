"""The model as one scikit-learn Pipeline: preprocessing (any picture -> normalised 32x32 tensor)
then the CNN. This is what is fitted, grid-searched, pickled and served."""

from __future__ import annotations

from sklearn.pipeline import Pipeline

from ml.cnn import CNNClassifier
from ml.preprocessing import ImagePreprocessor


def make_pipeline(**cnn_params) -> Pipeline:
    return Pipeline([("preprocess", ImagePreprocessor()), ("cnn", CNNClassifier(**cnn_params))])
