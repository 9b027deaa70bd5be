"""Outlier exposure (``python -m ml outliers``): pictures of none of the classes, for training the
network to spread its probabilities over them (and so to say "Not sure"), with whole categories
held out to measure.

``real-photos/other/<category>/`` holds photos of ~190 other things. A fixed third of the
categories (``ml.evaluation.photos.is_held_out``) is never trained on: ``python -m ml photos
--held-out`` measures
on those only, so the figure is for kinds of pictures the network has not seen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml.evaluation.photos import is_held_out, photo_files
from ml.images import load_image
from ml.inference import artifact
from ml.inference.preprocessing import image_to_array
from ml.training.data import SPLIT_SEED, Dataset, named_labels, validation_split
from ml.training.final_fit import hardware_description, member_params, save_with_card
from ml.training.recipe import OUTLIER_EXPOSURE

# Each photo of another thing gives this many pictures, crops down to SMALLEST_CROP of its shorter
# side: objects at other scales and places.
CROPS_PER_PHOTO = 16
SMALLEST_CROP = 0.35


def outlier_images(folder, crops_per_photo: int = CROPS_PER_PHOTO, image_size: int = 32,
                   seed: int = 0) -> np.ndarray:
    """uint8 (n, size, size, 3): from each photo of the training categories of ``folder``
    (``<category>/*.jpg``), the centre square the app would show the network, and random square
    crops of SMALLEST_CROP-100 % of the shorter side (``square_crops``)."""
    rng = np.random.default_rng(seed)
    crops = []
    for category, files in photo_files(Path(folder)).items():
        if is_held_out(category):
            continue
        for path in files:
            crops += square_crops(load_image(path), crops_per_photo, SMALLEST_CROP, rng, image_size)
    if not crops:
        raise ValueError(f"{folder} holds no photos in training categories (<category>/*.jpg)")
    return np.stack(crops)


def square_crops(image, count: int, smallest: float, rng: np.random.Generator,
                 image_size: int = 32) -> list[np.ndarray]:
    """``count`` network inputs (uint8 (size, size, 3)) of a picture: the centre square the app
    would show the network, then random square crops of ``smallest``-100 % of its shorter side at
    random places. ``ml.training.finetune`` crops feedback pictures so too."""
    image = image.convert("RGB")
    crops = [image_to_array(image, image_size)]
    width, height = image.size
    for _ in range(count - 1):
        side = int(min(width, height) * rng.uniform(smallest, 1.0))
        left, top = rng.integers(0, width - side + 1), rng.integers(0, height - side + 1)
        crops.append(image_to_array(image.crop((left, top, left + side, top + side)), image_size))
    return crops


def fine_tune_with_outliers(model_path, dataset: Dataset, other_photos, out_path, *,
                            epochs=OUTLIER_EXPOSURE["epochs"],
                            learning_rate=OUTLIER_EXPOSURE["learning_rate"],
                            weight=OUTLIER_EXPOSURE["weight"], class_photos=None,
                            validation_size=None, seed=SPLIT_SEED, checkpoint_dir=None,
                            verbose=1) -> dict:
    """Continue training a shipped model for a few epochs with outlier exposure: the training
    images as before, plus crops of photos of other things (the training categories of
    ``other_photos``) pushed towards uniform probabilities. Writes a new artifact."""
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    model = artifact.load(model_path)
    preprocess = model.pipeline.named_steps["preprocess"]
    train, validation = validation_split(dataset, validation_size, seed)
    outliers = outlier_images(other_photos, seed=seed)
    cnn = clone(model.cnn).set_params(**member_params(
        model.cnn, epochs=epochs, learning_rate=learning_rate, outlier_weight=weight,
        lr_schedule="triangle", verbose=verbose, checkpoint_dir=checkpoint_dir))
    validation_features = (preprocess.transform(dataset.images[validation]),
                           named_labels(dataset, validation))
    cnn.fit(preprocess.transform(dataset.images[train]), named_labels(dataset, train),
            validation_data=validation_features, initial_weights=model.cnn.weights_,
            outliers=preprocess.transform(outliers))
    pipeline = Pipeline([("preprocess", preprocess), ("cnn", cnn)])
    return save_with_card(pipeline, dataset, train, validation, validation_features, out_path, {
        **{k: model.card[k] for k in ("data", "grid_search") if k in model.card},
        "training_seconds": round(model.card.get("training_seconds", 0) + cnn.training_seconds_, 1),
        # The nets may have been trained elsewhere (a GPU, say) than this fine-tuning.
        "hardware": f"{model.card.get('hardware')}; outlier exposure: "
                    f"{hardware_description(cnn.training_precision_)}",
        "outlier_exposure": {"base_model": model.version, "epochs": epochs,
                             "learning_rate": learning_rate, "weight": weight,
                             "images": len(outliers),
                             "source": "/".join(Path(other_photos).resolve().parts[-2:]),
                             "held_out": "categories with is_held_out(name) (ml/evaluation/photos.py)"},
    }, class_photos)
