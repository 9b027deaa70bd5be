"""The served model as the views use it: the service (``backend.model``), the model once warm, and
a decoded picture prepared for its network."""

from __future__ import annotations

from flask import current_app

from backend.errors import APIError


def service():
    return current_app.extensions["classifier"]


def ready_model():
    """The model, once warm: a request that arrives during warm-up waits for it (a second or
    so), and gets 503 only if it takes longer than MODEL_WAIT_SECONDS."""
    if not service().ready.wait(current_app.config["MODEL_WAIT_SECONDS"]):
        raise APIError("model_not_loaded", "The model is still loading; please try again in a "
                       "moment.", {"retry_after": 2})
    return service().model


def default_top_k() -> int:
    """DEFAULT_TOP_K, within 1 and the number of classes."""
    return max(1, min(current_app.config["DEFAULT_TOP_K"], len(service().model.classes)))


def prepare(model, image):
    """``image`` as the network's input (a batch of one)."""
    try:
        return model.prepare(image)
    except (ValueError, OSError) as error:  # e.g. a colour mode Pillow cannot convert to RGB
        raise APIError("invalid_image", f"The image cannot be converted for the model ({error}).",
                       {}) from None
