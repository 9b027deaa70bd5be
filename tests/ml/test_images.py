"""Decoding as training and serving share it (ml/images.py): formats from bytes, EXIF orientation,
the first frame, a reduced working size, corrupt files, Pillow's own pixel guard, HEIC."""

import io

import numpy as np
import pytest
from PIL import ExifTags, Image

from bench.attacks import png_bomb
from bench.fixtures import encode
from ml.images import ImageRejected, decode_image, sniff_format
from ml.inference.preprocessing import image_to_array
from tests.imagegen import all_modes, gradient, with_exif_orientation


@pytest.mark.parametrize("fmt, options", [
    ("JPEG", {}), ("PNG", {}), ("WEBP", {}), ("GIF", {}), ("BMP", {}), ("TIFF", {}),
    ("TIFF", {"compression": "tiff_lzw"}),
])
def test_accepted_formats_decode(fmt, options):
    image = decode_image(encode(gradient(), fmt, **options))
    assert image.size == (64, 48)


def test_format_comes_from_bytes_not_names():
    assert sniff_format(encode(gradient(), "PNG")) == "PNG"
    assert sniff_format(encode(gradient(), "WEBP")) == "WEBP"
    assert sniff_format(b"GIF89a....") == "GIF"
    assert sniff_format(b"%PDF-1.7") is None




@pytest.mark.parametrize("data, needle", [
    (b"<svg xmlns='http://www.w3.org/2000/svg'><rect/></svg>", "SVG"),
    (b"<?xml version='1.0'?>\n<svg></svg>", "SVG"),
    (b"%PDF-1.4 fake", "not an image"),
    (b"hello world", "not an image"),
    (bytes(range(256)) * 4, "not an image"),
])
def test_non_images_are_415(data, needle):
    with pytest.raises(ImageRejected) as caught:
        decode_image(data)
    assert caught.value.code == "unsupported_media_type" and needle in caught.value.message


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_truncated_files_are_422(fmt):
    data = encode(gradient(200, 150), fmt)
    with pytest.raises(ImageRejected) as caught:
        decode_image(data[: max(len(data) // 3, 16)])
    assert caught.value.code == "invalid_image"


def test_empty_upload_is_400():
    with pytest.raises(ImageRejected) as caught:
        decode_image(b"")
    assert caught.value.code == "empty_file"




def test_pillows_own_pixel_guard_stays_on():
    from PIL import Image

    assert Image.MAX_IMAGE_PIXELS  # not switched off
    with pytest.raises(ImageRejected) as caught:  # far over Pillow's limit: refused inside open
        decode_image(png_bomb(20000, 20000))
    assert caught.value.code == "image_too_large"




@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_rotated_jpeg_is_classified_like_the_upright_image(orientation):
    upright = gradient(96, 64)
    decoded = decode_image(with_exif_orientation(upright, orientation))
    assert decoded.size == upright.size
    expected = image_to_array(upright).astype(int)
    got = image_to_array(decoded).astype(int)
    assert np.abs(expected - got).mean() < 6  # same picture, up to JPEG loss


def test_big_jpeg_decodes_at_reduced_size():
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (3000, 4000, 3), np.uint8))
    decoded = decode_image(encode(photo, "JPEG", quality=80))
    assert decoded.size == (500, 375)  # 1/8 scale: still far more than 32x32 needs


def test_animated_gif_uses_the_first_frame():
    frames = [Image.new("RGB", (20, 20), colour) for colour in ("red", "blue", "green")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    decoded = decode_image(buffer.getvalue())
    assert decoded.convert("RGB").getpixel((5, 5))[0] > 200


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "L", "1", "CMYK", "I;16"])
def test_modes_survive_encoding_and_decoding(mode):
    image = all_modes()[mode]
    fmt = "JPEG" if mode == "CMYK" else "TIFF" if mode == "I;16" else "PNG"
    decoded = decode_image(encode(image, fmt))
    assert image_to_array(decoded).shape == (32, 32, 3)




def _heic(image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "HEIF", **options)
    return buffer.getvalue()


def test_heic_is_read_from_its_bytes_and_turned_upright():
    picture = gradient(80, 40)
    assert sniff_format(_heic(picture)) == "HEIF"
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # as a phone held upright writes it
    upright = decode_image(_heic(picture, exif=exif.tobytes()))
    assert upright.size == (40, 80)


