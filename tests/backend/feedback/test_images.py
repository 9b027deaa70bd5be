"""backend/feedback/images.py: what is kept of a picture is small and says nothing but its pixels."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image

from backend.feedback.images import STORED_SIDE, stored_jpeg
from ml.images import decode_image


def _phone_photo(size=(1600, 1200)) -> bytes:
    """A JPEG as a phone writes it: EXIF with the camera, the time and GPS coordinates, a comment."""
    image = Image.new("RGB", size, (30, 120, 200))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.DateTime] = "2026:12:06 10:00:00"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N",
                                  ExifTags.GPS.GPSLatitude: (48.0, 51.0, 24.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, comment=b"taken at home")
    return buffer.getvalue()


def test_the_stored_picture_has_no_metadata_at_all():
    upload = _phone_photo()
    assert Image.open(io.BytesIO(upload)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # it had some
    stored = stored_jpeg(decode_image(upload))
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and image.mode == "RGB"
    assert not image.getexif() and not set(image.info) & {"exif", "comment", "icc_profile", "xmp"}
    assert b"PhoneMaker" not in stored and b"taken at home" not in stored


@pytest.mark.parametrize(("size", "expected"), [
    ((2000, 500), lambda w, h: max(w, h) == STORED_SIDE),  # shrunk, its shape kept
    ((400, 100), lambda w, h: (w, h) == (400, 100)),  # small already: never enlarged
])
def test_the_stored_picture_is_at_most_512_pixels_on_its_longer_side(size, expected):
    upload = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(upload, "PNG")
    width, height = Image.open(io.BytesIO(stored_jpeg(decode_image(upload.getvalue())))).size
    assert expected(width, height)
    assert abs(width / height - size[0] / size[1]) < 0.02


def test_transparency_is_stored_on_white_as_the_model_sees_it():
    upload = io.BytesIO()
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(upload, "PNG")
    image = Image.open(io.BytesIO(stored_jpeg(decode_image(upload.getvalue()))))
    assert min(image.getpixel((32, 32))) > 245
