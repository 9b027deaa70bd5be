"""Hostile uploads against the production server (the shipped model), each asserting the answer,
its time and the worker's peak memory (tests/server.py's PeakMemory). Hostile clients:
tests/backend/test_waitress_worker.py and test_waitress_shim.py."""

from __future__ import annotations

import time

import pytest
import requests

from bench import attacks
from bench.fixtures import encode, encoded_blank
from tests.imagegen import gradient
from tests.server import PeakMemory, running_server, worker_pid

MB = 1024 * 1024
PNG = encode(gradient(32, 32), "PNG")


@pytest.fixture(scope="module")
def server(model_path):
    with running_server(model_path, RATE_LIMIT="", UPLOAD_RATE_LIMIT="") as (process, url):
        yield url, worker_pid(process)


def post(url, path, files, timeout=60):
    return requests.post(url + path, files=files, timeout=timeout)


# Each is a valid image that is huge or slow to decode, in a file far under the byte limits.
REFUSED = {
    "16-bit greyscale PNG 7000x7000": lambda: attacks.png_zeros(7000, 7000, "L16"),
    "RGBA16 PNG 1x39999999": lambda: attacks.png_zeros(1, 39_999_999, "RGBA16"),
    "RGBA8 PNG 6324x6324": lambda: attacks.png_zeros(6324, 6324, "RGBA8"),
    "float32 TIFF 6324x6324": lambda: attacks.tiff_zeros(6324, 6324, sample_format=3),
    "int32 TIFF 6324x6324": lambda: attacks.tiff_zeros(6324, 6324, sample_format=2),
    "progressive JPEG, 10000 scans": lambda: attacks.progressive_jpeg_scans(6324, 6324, 10_000),
    **{name: make for name, (_, make) in attacks.STRUCTURE_ATTACKS.items()},
}
# The most expensive uploads each limit still lets through (README "Limits").
WORST_ALLOWED = {
    "RGBA8 PNG 12 Mpx": lambda: attacks.png_zeros(3500, 3500, "RGBA8"),
    "RGB8 PNG 25 Mpx": lambda: attacks.png_zeros(5000, 5000, "RGB8"),
    "16-bit greyscale PNG 40 Mpx": lambda: attacks.png_zeros(6324, 6324, "L16"),
    "float32 TIFF 12 Mpx": lambda: attacks.tiff_zeros(3500, 3500),
    "palette GIF 11 Mpx": lambda: encoded_blank(3300, 3300, "GIF", "P"),
    "WebP 6 Mpx": lambda: encoded_blank(2500, 2500, "WEBP"),
    "progressive JPEG 31 Mpx, 64 scans": lambda: attacks.progressive_jpeg_scans(5600, 5600, 64),
    "baseline JPEG 16 Mpx, a scan per component": lambda: attacks.jpeg_scan_per_component(4000, 4000),
    "TIFF 700x14000, a strip for every row": lambda: attacks.tiff_row_strips(700, 14_000),
    "RLE BMP 1 Mpx, every row ended early": lambda: attacks.bmp_rle_end_of_lines(1000, 1000),
    "PNG, 60,000 empty chunks": lambda: attacks.png_empty_chunks(60_000),
}


def upload_one(server, data):
    """POST one picture; the answer and the worker's time and peak memory for it."""
    url, pid = server
    with PeakMemory(pid) as peak:
        response = post(url, "/api/predict", {"image": ("x", data)})
    return response, peak


@pytest.mark.parametrize("name", REFUSED)
def test_huge_images_are_refused_from_the_header(server, name):
    response, peak = upload_one(server, REFUSED[name]())
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in ("image_too_large", "image_aspect_ratio", "invalid_image")
    assert peak.seconds < 2 and peak.growth < 30 * MB, (peak.seconds, peak.growth / MB)


@pytest.mark.parametrize("name", WORST_ALLOWED)
def test_worst_allowed_upload_costs_well_under_200_mb(server, name):
    response, peak = upload_one(server, WORST_ALLOWED[name]())
    assert response.status_code == 200, response.text
    assert peak.seconds < 5 and peak.growth < 150 * MB, (peak.seconds, peak.growth / MB)


def test_a_batch_holds_one_decoded_image_at_a_time(server):
    """8 of the costliest PNG allowed: as many as one batch's decoding allowance (768 MB) takes."""
    url, pid = server
    data = WORST_ALLOWED["RGBA8 PNG 12 Mpx"]()
    files = [("images", (f"{i}.png", data)) for i in range(8)]
    with PeakMemory(pid) as peak:
        response = post(url, "/api/predict/batch", files)
    assert response.status_code == 200
    assert all("predictions" in result for result in response.json()["results"])
    assert peak.growth < 200 * MB, peak.growth / MB


def test_a_batch_of_huge_images_is_refused_file_by_file(server):
    url, pid = server
    data = REFUSED["RGBA8 PNG 6324x6324"]()
    with PeakMemory(pid) as peak:
        response = post(url, "/api/predict/batch", [("images", (f"{i}.png", data)) for i in range(16)]
                        + [("images", ("ok.png", PNG))])
    results = response.json()["results"]
    assert [r.get("error", {}).get("code") for r in results[:16]] == ["image_too_large"] * 16
    assert "predictions" in results[16]
    assert peak.seconds < 3 and peak.growth < 50 * MB, (peak.seconds, peak.growth / MB)


def test_a_batch_of_costly_images_stops_after_its_decoding_allowance(server):
    """64 copies of the costliest PNG allowed (a 51 KB file, 0.2 s to decode each) held a thread
    for 14.6 s; the batch now decodes 768 MB worth (8 of them) and answers the rest at once."""
    url, _ = server
    data = WORST_ALLOWED["RGBA8 PNG 12 Mpx"]()
    started = time.monotonic()
    response = post(url, "/api/predict/batch", [("images", (f"{i}.png", data)) for i in range(64)])
    codes = [r.get("error", {}).get("code") for r in response.json()["results"]]
    assert codes == [None] * 8 + ["batch_decode_budget"] * 56
    assert time.monotonic() - started < 5
