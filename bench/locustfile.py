"""Locust users for the concurrent and load phases of ``python -m bench`` (run headless by
bench/client.py): each user sends the same prepared upload back to back, no think time.

The upload comes from the environment: BENCH_BODY (a file with the multipart body),
BENCH_CONTENT_TYPE and BENCH_PATH.
"""

import os
from pathlib import Path

from locust import HttpUser, constant, task

BODY = Path(os.environ["BENCH_BODY"]).read_bytes()
HEADERS = {"Content-Type": os.environ["BENCH_CONTENT_TYPE"]}
PATH = os.environ["BENCH_PATH"]


class Client(HttpUser):
    wait_time = constant(0)

    @task
    def predict(self):
        with self.client.post(PATH, data=BODY, headers=HEADERS, name=PATH, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {response.text[:120]}")
            elif b'"predictions"' not in response.content and b'"results"' not in response.content:
                response.failure("no predictions in the answer")
