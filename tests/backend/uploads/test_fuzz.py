"""Property-based fuzzing: mutated, truncated and random bytes of every accepted format reach the
image loader and the predict endpoint. Only 200 or a 4xx JSON error may come back, never a 5xx,
an exception, or a hang. LONG_FUZZ=1 runs many more examples."""

import io
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.errors import ERRORS
from backend.uploads.guard import decode_within_limits
from bench.fixtures import encode
from ml.images import ImageRejected
from tests.imagegen import gradient

EXAMPLES = 1000 if os.environ.get("LONG_FUZZ") == "1" else 40
SECONDS_PER_REQUEST = 5.0
FORMATS = {
    "JPEG": {"quality": 80},
    "PNG": {},
    "WEBP": {"quality": 70},
    "GIF": {},
    "BMP": {},
    "TIFF": {"compression": "tiff_lzw"},
}
SEEDS = {fmt: encode(gradient(48, 36, seed=3), fmt, **options) for fmt, options in FORMATS.items()}
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def mutated_images(draw):
    """A valid file of some format, then byte flips, a truncation, an insertion, or all three."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        position = draw(st.integers(0, len(data)))
        data[position:position] = draw(st.binary(max_size=64))
    return bytes(data)


any_bytes = st.one_of(mutated_images(), st.binary(max_size=2048),
                      st.sampled_from(sorted(SEEDS)).map(lambda fmt: SEEDS[fmt][:12]))


@FUZZ
@given(data=any_bytes)
def test_loader_returns_an_image_or_a_client_error(data):
    started = time.perf_counter()
    try:
        image = decode_within_limits(data)
        assert image.size[0] > 0 and image.size[1] > 0
    except ImageRejected as error:
        assert error.code in ERRORS and error.message
    assert time.perf_counter() - started < SECONDS_PER_REQUEST


@FUZZ
@given(data=any_bytes)
def test_predict_endpoint_never_fails_on_bytes(client, data):
    started = time.perf_counter()
    response = client.post("/api/predict", data={"image": (io.BytesIO(data), "fuzz.bin")},
                           content_type="multipart/form-data")
    assert time.perf_counter() - started < SECONDS_PER_REQUEST
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.get_json()
    body = response.get_json()
    assert ("predictions" in body) if response.status_code == 200 else ("error" in body)


@FUZZ
@given(files=st.lists(any_bytes, min_size=1, max_size=4))
def test_batch_endpoint_isolates_bad_files(client, files):
    response = client.post("/api/predict/batch",
                           data={"images": [(io.BytesIO(d), f"{i}.bin") for i, d in enumerate(files)]},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert len(results) == len(files)
    assert all(("predictions" in r) != ("error" in r) for r in results)


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_every_prefix_of_a_small_file(client, fmt):
    """Truncation at every length (the classic crash for image decoders)."""
    data = SEEDS[fmt]
    step = max(1, len(data) // 60)
    for end in range(0, len(data), step):
        response = client.post("/api/predict", data={"image": (io.BytesIO(data[:end]), "cut")},
                               content_type="multipart/form-data")
        assert response.status_code in (200, 400, 415, 422), (fmt, end, response.get_json())
