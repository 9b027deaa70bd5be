"""Per-client rate limits (Flask-Limiter): in memory, shared through a real Redis, behind a proxy,
and against the production server under a burst of concurrent uploads."""

from __future__ import annotations

import io
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bench.fixtures import encode, free_port
from tests.imagegen import gradient
from tests.server import running_server

PNG = encode(gradient(32, 32), "PNG")


def make_app(model_path, **config):
    from backend import create_app

    return create_app({"TESTING": True, "MODEL_PATH": str(model_path), **config})


def predict(client, path="/api/predict", field="image", **headers):
    return client.post(path, data={field: (io.BytesIO(PNG), "x.png")},
                       content_type="multipart/form-data", headers=headers)


def test_over_the_limit_is_429_with_retry_after_and_the_json_envelope(model_path):
    client = make_app(model_path, RATE_LIMIT="3 per minute").test_client()
    assert [predict(client).status_code for _ in range(3)] == [200] * 3
    response = predict(client)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    error = response.get_json()["error"]
    assert error["code"] == "too_many_requests" and "3 per minute" in error["message"]


def test_upload_volume_is_limited_in_megabytes(model_path):
    """Each started megabyte counts one: small pictures pass where big photos are cut off."""
    client = make_app(model_path, RATE_LIMIT="", UPLOAD_RATE_LIMIT="8 per minute").test_client()
    photo = b"\x00" * (3 * 1024 * 1024 - 100_000)  # counts 3 with the form around it

    def send(data):
        return client.post("/api/predict", data={"image": (io.BytesIO(data), "x.png")},
                           content_type="multipart/form-data")

    assert send(photo).status_code == 415  # counted, though not an image
    assert send(photo).status_code == 415
    assert send(PNG).status_code == 200  # 3 + 3 + 1 = 7: a small picture still fits
    response = send(photo)  # 10: over
    assert response.status_code == 429 and "megabytes" in response.get_json()["error"]["message"]


def test_batch_shares_the_budget_and_other_endpoints_are_never_limited(model_path):
    client = make_app(model_path, RATE_LIMIT="2 per minute").test_client()
    assert predict(client).status_code == 200
    assert predict(client, "/api/predict/batch", "images").status_code == 200
    assert predict(client, "/api/predict/batch", "images").status_code == 429
    assert predict(client).status_code == 429
    for path in ("/api/health", "/api/model", "/api/openapi.json", "/api/docs", "/"):
        assert all(client.get(path).status_code == 200 for _ in range(5)), path


def test_batches_and_explanations_are_charged_the_pictures_the_network_runs(model_path):
    client = make_app(model_path, RATE_LIMIT="", UPLOAD_RATE_LIMIT="",
                      IMAGE_RATE_LIMIT="120 per minute").test_client()

    def batch(n):
        return client.post("/api/predict/batch", content_type="multipart/form-data",
                           data={"images": [(io.BytesIO(PNG), f"{i}.png") for i in range(n)]})

    assert predict(client, "/api/explain").status_code == 200  # 50: the picture + 49 occluded
    assert batch(60).status_code == 200  # 110
    assert batch(9).status_code == 200  # let in with 10 left: 119
    assert predict(client).status_code == 200  # 120
    response = predict(client)
    assert response.status_code == 429 and "pictures" in response.get_json()["error"]["message"]
    assert predict(client, "/api/explain").status_code == 429


def test_a_picture_costly_to_decode_is_charged_for_its_decoding(model_path):
    """A 12-megapixel RGBA PNG (98 MB to decode, ~0.2 s) counts 1 + 23 (one per 4 MB)."""
    from bench import attacks

    client = make_app(model_path, RATE_LIMIT="", UPLOAD_RATE_LIMIT="",
                      IMAGE_RATE_LIMIT="50 per minute").test_client()
    costly = attacks.png_zeros(3500, 3500, "RGBA8")

    def send(data):
        return client.post("/api/predict", data={"image": (io.BytesIO(data), "x.png")},
                           content_type="multipart/form-data")

    assert [send(costly).status_code for _ in range(2)] == [200, 200]  # 48
    assert [predict(client).status_code for _ in range(2)] == [200, 200]  # 50
    assert predict(client).status_code == 429


def test_a_refused_or_malformed_form_is_a_request_but_takes_no_pictures(model_path):
    """Too many files, a form over the batch's size or with too many parts count as requests (they
    are read only once the request and megabyte budgets have counted them) but run no picture;
    nor does a batch refused for costing more pictures than are left. (A form error inside the
    limits' check was once taken for a failure of their storage, which then started afresh.)"""
    client = make_app(model_path, RATE_LIMIT="7 per minute", UPLOAD_RATE_LIMIT="",
                      IMAGE_RATE_LIMIT="10 per minute", MAX_BATCH_FILES=8,
                      MAX_BATCH_BYTES=200_000).test_client()

    def batch(files, **data):
        return client.post("/api/predict/batch", content_type="multipart/form-data",
                           data={"images": files, **data})

    def pngs(n, data=PNG):
        return [(io.BytesIO(data), f"{i}.png") for i in range(n)]

    assert batch(pngs(9)).get_json()["error"]["code"] == "too_many_files"  # request 1
    assert batch(pngs(4, bytes(80_000))).status_code == 413  # 320 KB: over the batch's 200 + 64 KB
    parts = {f"field{i}": "x" for i in range(1200)}  # past Flask's MAX_FORM_PARTS
    assert batch(pngs(1), **parts).status_code == 413  # request 3
    assert batch(pngs(8)).status_code == 200  # 8 pictures of 10
    assert batch(pngs(3)).status_code == 429  # 11: refused, and takes none
    assert [predict(client).status_code for _ in range(2)] == [200, 200]  # requests 6-7: 10 pictures
    response = predict(client)  # request 8
    assert response.status_code == 429 and "requests" in response.get_json()["error"]["message"]


def test_retry_after_only_on_a_429(model_path):
    client = make_app(model_path, RATE_LIMIT="2 per minute").test_client()
    assert "Retry-After" not in predict(client).headers
    predict(client)
    response = predict(client)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1


def test_the_default_lets_a_person_see_why_for_every_photo(model_path):
    """The page asks for an explanation after each answer: 12 photos in a row, ~4 s apart at most."""
    client = make_app(model_path).test_client()
    statuses = [(predict(client).status_code, predict(client, "/api/explain").status_code)
                for _ in range(12)]
    assert statuses == [(200, 200)] * 12


def test_the_default_lets_a_person_use_the_page_freely(model_path):
    """40 predictions one after another, faster than anyone clicks (~7 a second)."""
    client = make_app(model_path).test_client()  # RATE_LIMIT from the environment's default
    statuses = []
    for _ in range(40):
        statuses.append(predict(client).status_code)
        time.sleep(0.15)
    assert statuses == [200] * 40


def test_an_empty_rate_limit_turns_limits_off(model_path):
    client = make_app(model_path, RATE_LIMIT="").test_client()
    assert all(predict(client).status_code == 200 for _ in range(15))


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(model_path):
    direct = make_app(model_path, RATE_LIMIT="1 per minute").test_client()
    assert predict(direct, X_Forwarded_For="203.0.113.1").status_code == 200
    # Without a trusted proxy, a client cannot escape its limit by inventing addresses.
    assert predict(direct, X_Forwarded_For="203.0.113.2").status_code == 429

    proxied = make_app(model_path, RATE_LIMIT="1 per minute", TRUSTED_PROXY_HOPS=1).test_client()
    assert predict(proxied, X_Forwarded_For="203.0.113.1").status_code == 200
    assert predict(proxied, X_Forwarded_For="203.0.113.1").status_code == 429
    assert predict(proxied, X_Forwarded_For="203.0.113.2").status_code == 200
    # Only the hop the proxy added counts: a spoofed entry before it changes nothing, nor one that
    # is not a well-formed list (ProxyFix reads nothing from an unclosed quote).
    assert predict(proxied, X_Forwarded_For="198.51.100.9, 203.0.113.2").status_code == 429
    assert predict(proxied, X_Forwarded_For='", 203.0.113.2').status_code == 429
    assert predict(proxied, X_Forwarded_For='a"b, 203.0.113.2').status_code == 429
    assert predict(proxied, X_Forwarded_For="203.0.113.2:5678").status_code == 429  # a port


def test_with_two_trusted_proxies_the_client_is_the_entry_the_outer_one_added(model_path):
    proxied = make_app(model_path, RATE_LIMIT="1 per minute", TRUSTED_PROXY_HOPS=2).test_client()
    assert predict(proxied, X_Forwarded_For="203.0.113.1, 10.0.0.1").status_code == 200
    assert predict(proxied, X_Forwarded_For="198.51.100.9, 203.0.113.1, 10.0.0.2").status_code == 429
    assert predict(proxied, X_Forwarded_For="203.0.113.2, 10.0.0.1").status_code == 200
    # Fewer entries than trusted proxies: the request's own address (the test client's).
    assert predict(proxied, X_Forwarded_For="10.0.0.1").status_code == 200
    assert predict(proxied).status_code == 429


def test_an_ipv6_client_is_counted_by_its_64_network(model_path):
    proxied = make_app(model_path, RATE_LIMIT="1 per minute", TRUSTED_PROXY_HOPS=1).test_client()
    assert predict(proxied, X_Forwarded_For="2001:db8:1:2::1").status_code == 200
    # Another address of the same subscriber's /64: the same budget.
    assert predict(proxied, X_Forwarded_For="2001:db8:1:2:ffff::9").status_code == 429
    assert predict(proxied, X_Forwarded_For="2001:db8:1:3::1").status_code == 200
    # An IPv4 client seen through IPv6 is that IPv4 client.
    assert predict(proxied, X_Forwarded_For="203.0.113.5").status_code == 200
    assert predict(proxied, X_Forwarded_For="::ffff:203.0.113.5").status_code == 429


@pytest.fixture()
def redis_url():
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (make test installs Debian's redis-server)")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}"
    try:
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_redis_storage_shares_counts_between_instances(model_path, redis_url):
    """Two app instances (as two workers or two Render instances) share one Redis."""
    first, second = (make_app(model_path, RATE_LIMIT="3 per minute", RATE_LIMIT_STORAGE_URI=redis_url)
                     .test_client() for _ in range(2))
    assert predict(first).status_code == 200
    assert predict(second).status_code == 200
    assert predict(first).status_code == 200
    assert predict(second).status_code == 429
    assert predict(first).status_code == 429


def test_a_burst_from_one_client_is_cut_off_and_others_are_served(model_path):
    """Many concurrent uploads from one address (the production server, one proxy hop trusted):
    only the limit's worth is processed; another client is still served."""
    photo = encode(gradient(1200, 900), "PNG")
    with running_server(model_path, RATE_LIMIT="10 per minute", TRUSTED_PROXY_HOPS=1) as (_, url):
        def attack(_):
            return requests.post(url + "/api/predict", files={"image": ("x.png", photo)},
                                 headers={"X-Forwarded-For": "203.0.113.66"}, timeout=60).status_code

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(attack, range(40)))
        assert statuses.count(200) == 10 and statuses.count(429) == 30
        other = requests.post(url + "/api/predict", files={"image": ("x.png", PNG)},
                              headers={"X-Forwarded-For": "198.51.100.7"}, timeout=10)
        assert other.status_code == 200


def test_concurrent_batches_cannot_run_past_the_pictures_budget(model_path):
    """8 batches of 16 at once against 64 pictures a minute (the production server, one worker):
    each takes its pictures before it runs, so 4 are served, not all 8 (7 were, when the pictures
    were charged as the answers left)."""
    batch = [("images", (f"{i}.png", PNG)) for i in range(16)]
    with running_server(model_path, RATE_LIMIT="", UPLOAD_RATE_LIMIT="", IMAGE_RATE_LIMIT="64 per minute",
                        WEB_CONCURRENCY=1) as (_, url):
        def send(_):
            return requests.post(url + "/api/predict/batch", files=batch, timeout=60).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(send, range(8)))
    assert sorted(statuses) == [200] * 4 + [429] * 4


def test_the_live_webcam_rate_fits_inside_the_default_limits(model_path):
    """/api/model publishes the frame rate the page's live mode uses: a few frames a second, and
    over any window of any default limit it sends fewer than that limit allows."""
    from limits import parse_many

    app = make_app(model_path)  # the rate limits from the environment's defaults
    fps = app.test_client().get("/api/model").get_json()["limits"]["live_frames_per_second"]
    assert 2 <= fps <= 4
    config = app.config
    for text in (config["RATE_LIMIT"], config["UPLOAD_RATE_LIMIT"], config["IMAGE_RATE_LIMIT"]):
        for item in parse_many(text):
            assert fps * item.get_expiry() <= 0.8 * item.amount, (text, fps)


def test_frames_at_the_published_rate_are_never_refused_and_faster_ones_are(model_path):
    client = make_app(model_path, RATE_LIMIT="4 per second", UPLOAD_RATE_LIMIT="").test_client()
    fps = client.get("/api/model").get_json()["limits"]["live_frames_per_second"]
    assert fps == 3.0
    statuses = []
    for _ in range(9):  # three seconds of live mode, each frame answered before the next is sent
        started = time.monotonic()
        statuses.append(predict(client).status_code)
        time.sleep(max(0.0, 1 / fps - (time.monotonic() - started)))
    assert statuses == [200] * 9
    assert 429 in [predict(client).status_code for _ in range(8)]  # as fast as possible


def test_a_picture_sent_as_the_body_counts_like_an_uploaded_one(model_path):
    """The raw-body form of /api/predict is no way around IMAGE_RATE_LIMIT or the megabytes."""
    client = make_app(model_path, RATE_LIMIT="", UPLOAD_RATE_LIMIT="",
                      IMAGE_RATE_LIMIT="3 per minute").test_client()

    def raw():
        return client.post("/api/predict", data=PNG, content_type="image/png")

    assert [raw().status_code, predict(client).status_code, raw().status_code] == [200, 200, 200]
    response = raw()
    assert response.status_code == 429 and "pictures" in response.get_json()["error"]["message"]
    megabytes = make_app(model_path, RATE_LIMIT="", IMAGE_RATE_LIMIT="",
                         UPLOAD_RATE_LIMIT="2 per minute").test_client()
    big = PNG + b"\0" * (1024 * 1024)  # 2 started megabytes
    assert megabytes.post("/api/predict", data=big, content_type="image/png").status_code == 200
    assert megabytes.post("/api/predict", data=PNG, content_type="image/png").status_code == 429
