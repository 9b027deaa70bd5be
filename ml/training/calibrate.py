"""Calibration (``python -m ml calibrate``, and every step that writes an artifact): the temperature
of the probabilities and the "Not sure" threshold, from the validation split and real photos
(``ml.evaluation.confidence`` has the statistics)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml.evaluation.confidence import NOT_SURE_TARGET, not_sure_threshold
from ml.evaluation.reports import plot_reliability, write_model_card
from ml.inference import artifact
from ml.training.data import SPLIT_SEED, Dataset, named_labels, validation_split

CALIBRATION_SET = "the validation images, as they are and framed as photos people take"


def calibrate(pipeline, validation_features, validation_images, folder, class_photos=None) -> dict:
    """Temperature scaling from the validation split (the CNN step is calibrated in place) and the
    "Not sure" threshold; writes reliability.png. Returns the model card's entries.

    The temperature is fitted on the validation images as they are and once more framed as photos
    people take (``ml.evaluation.shifts.framed``: small and anywhere, close up, far): fitted on
    CIFAR-10's tight crops alone it left the model overconfident on photos.

    The threshold leaves at most NOT_SURE_TARGET of the pictures of the classes below it: of ``class_photos``
    (a folder of ``<class>/*.jpg`` real photos, e.g. real-photos/known) when given, else of the
    framed validation images. Framed images are a poor stand-in for real photos here: a model can
    be as often right on both and far surer of the framed ones, so that their threshold says
    "Not sure" on many times the target share of real class photos."""
    from ml.evaluation.shifts import framed

    features, labels = validation_features
    photos = pipeline[:-1].transform(framed(validation_images))
    cnn = pipeline.named_steps["cnn"]
    cnn.calibrate(np.concatenate([features, photos]), np.concatenate([labels, labels]))
    calibration = {**cnn.calibration_, "fitted_on": CALIBRATION_SET}
    plot_reliability(calibration, Path(folder) / "reliability.png",
                     title="Reliability: validation images, plain and framed as photos")
    if class_photos is None:
        confidence = cnn.predict_proba(photos).max(axis=1)
        source = f"at most {NOT_SURE_TARGET:.0%} of the validation images framed as photos fall below it"
    else:
        confidence = _class_photo_confidence(pipeline, class_photos, cnn.classes_)
        source = (f"at most {NOT_SURE_TARGET:.0%} of {len(confidence)} real photos of the classes "
                  f"({Path(class_photos).resolve().name}/) fall below it")
    return {"calibration": calibration, "not_sure_threshold": not_sure_threshold(confidence),
            "not_sure_source": source}


def _class_photo_confidence(pipeline, folder, classes) -> np.ndarray:
    """Top-1 probabilities of the photos in ``folder/<class>/`` (``photos.class_photo_files``)."""
    from ml.evaluation.photos import class_photo_files, probabilities

    files = [path for paths in class_photo_files(folder, classes).values() for path in paths]
    return probabilities(pipeline, files).max(axis=1)


def recalibrate(model_path, dataset: Dataset, *, class_photos=None, validation_size=None,
                seed=SPLIT_SEED) -> dict:
    """Calibrate an already trained artifact in place (same network, new temperature and
    threshold), e.g. one trained before calibration existed. Returns the updated card."""
    model_path = Path(model_path)
    model = artifact.load(model_path)
    pipeline = model.pipeline
    validation = validation_split(dataset, validation_size, seed)[1]
    features = (pipeline[:-1].transform(dataset.images[validation]), named_labels(dataset, validation))
    card = {**model.card, **calibrate(pipeline, features, dataset.images[validation],
                                      model_path.parent, class_photos)}
    card["sha256"] = artifact.save(model_path, pipeline, classes=model.classes, params=model.params,
                                   metrics=model.metrics, card=card)
    write_model_card(card, model_path.parent)
    return card
