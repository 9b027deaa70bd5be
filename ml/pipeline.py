"""The model as one scikit-learn Pipeline: preprocessing (any picture -> normalised 32x32 tensor)
then the CNN. This is what is fitted, grid-searched, pickled and served."""

from __future__ import annotations

from sklearn.pipeline import Pipeline

from ml.cnn import CNNClassifier
from ml.ensemble import CNNEnsemble
from ml.preprocessing import ImagePreprocessor

# The recipe the grid search and the final fit share: airbench96-style nets (three convs per group,
# the last two with a residual; widths 128/384/512: in float32 one net's two flip views cost about
# the inference budget of 4x the airbench94-style model before it, 3.8-4.1x measured; in int8,
# 1.1-1.2x), airbench96's BatchNorm momentum,
# augmentation (translate 4, cutout 12) and warm-up-then-linear schedule; bfloat16 where native.
# 15 % of the training images are reframed as photos with a smaller subject and 15 % as close-ups
# (ml/training_loop.py zoom): real photos are framed so, CIFAR-10's are not.
# The search tunes the learning rate and weight decay over it, in budget mode; the final fit trains
# it longer, as two nets (ml/final_fit.py FINAL_RECIPE).
RECIPE = {"widths": (128, 384, 512), "block_depth": 3, "bn_momentum": 0.9, "translate": 4,
          "cutout": 12, "zoom_out": 0.15, "zoom_in": 0.15, "lr_schedule": "warmup_linear",
          "training_precision": "auto", "tta": "flip"}


def make_pipeline(n_members: int = 1, views: str = "every", **cnn_params) -> Pipeline:
    """``n_members`` > 1: an ensemble of that many CNNs of these parameters (``ml.ensemble``),
    each running every one of the ``tta`` views, or ``views="dealt"``: a share of them."""
    cnn = CNNClassifier(**cnn_params)
    if n_members > 1:
        cnn = CNNEnsemble(cnn, n_members=n_members, tta=cnn.tta, views=views)
    return Pipeline([("preprocess", ImagePreprocessor()), ("cnn", cnn)])
