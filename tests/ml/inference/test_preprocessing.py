import numpy as np
import pytest
from PIL import Image
from sklearn.base import clone

from ml.inference.preprocessing import (
    ImagePreprocessor,
    center_square,
    image_to_array,
    images_to_array,
    to_rgb,
)
from tests.imagegen import all_modes, gradient


@pytest.mark.parametrize("mode", sorted(all_modes()))
def test_every_mode_becomes_rgb_uint8(mode):
    array = image_to_array(all_modes()[mode], 32)
    assert array.shape == (32, 32, 3) and array.dtype == np.uint8


def test_transparency_is_composited_on_white():
    clear = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    assert to_rgb(clear).getpixel((0, 0)) == (255, 255, 255)
    half = Image.new("LA", (8, 8), (0, 128))
    assert to_rgb(half).getpixel((0, 0))[0] == pytest.approx(127, abs=1)


def test_16_bit_grey_is_scaled_not_clipped():
    grey = Image.fromarray(np.full((4, 4), 32768, np.uint16))
    red, green, blue = to_rgb(grey).getpixel((0, 0))
    assert red == green == blue and red in (127, 128)


def test_center_square_keeps_the_middle():
    wide = Image.new("RGB", (100, 40))
    assert center_square(wide).size == (40, 40)
    tall = gradient(30, 90)
    assert center_square(tall).size == (30, 30)


def test_resize_is_antialiased():
    # A 1-pixel checkerboard shrunk 8x must become flat grey, not aliased stripes.
    board = (np.indices((256, 256)).sum(axis=0) % 2 * 255).astype(np.uint8)
    small = image_to_array(Image.fromarray(board), 32)
    assert small.std() < 3 and abs(small.mean() - 127.5) < 3


def test_arrays_of_any_layout():
    assert image_to_array(np.zeros((10, 12), np.uint8)).shape == (32, 32, 3)
    assert image_to_array(np.zeros((10, 12, 1), np.uint8)).shape == (32, 32, 3)
    assert image_to_array(np.ones((10, 12, 4), np.float32)).max() == 255
    same = np.full((32, 32, 3), 7, np.uint8)
    assert image_to_array(same) is same  # already network-sized: no work
    with pytest.raises(ValueError):
        image_to_array(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(TypeError):
        image_to_array("not an image")


def test_batch_input_forms():
    batch = np.zeros((3, 32, 32, 3), np.uint8)
    assert images_to_array(batch) is batch
    assert images_to_array([gradient(), gradient(10, 20)]).shape == (2, 32, 32, 3)
    assert images_to_array([]).shape == (0, 32, 32, 3)
    with pytest.raises(ValueError):
        images_to_array(gradient())  # a single image must be wrapped in a list


def test_fit_learns_channel_statistics_and_transform_normalises():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    pre = ImagePreprocessor().fit(X)
    out = pre.transform(X)
    assert out.dtype == np.float32 and out.shape == (20, 32, 32, 3)
    np.testing.assert_allclose(out.reshape(-1, 3).mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(out.reshape(-1, 3).std(axis=0), 1, atol=1e-3)
    assert clone(pre).get_params() == {"image_size": 32, "jpeg_quality": 75}


def test_transform_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ImagePreprocessor().transform([gradient()])


def test_other_sizes():
    pre = ImagePreprocessor(image_size=16).fit([gradient()])
    assert pre.transform([gradient(300, 200)]).shape == (1, 16, 16, 3)


def test_shrunk_pictures_are_encoded_like_the_training_images():
    """A photo the preprocessor shrinks gets the training images' JPEG q75 4:2:0 encoding; a
    picture already 32x32 (a CIFAR image) is left exactly as it is."""
    from ml.inference.preprocessing import as_training_jpeg

    rng = np.random.default_rng(3)
    photo = Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
    shrunk = photo.resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=3.0)
    np.testing.assert_array_equal(image_to_array(photo), np.asarray(as_training_jpeg(shrunk)))
    assert not np.array_equal(image_to_array(photo), np.asarray(shrunk))
    np.testing.assert_array_equal(image_to_array(photo, jpeg_quality=None), np.asarray(shrunk))
    cifar = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert image_to_array(cifar) is cifar
