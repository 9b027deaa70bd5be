"""gunicorn settings for production (`make run`, Render). Everything can be overridden by env."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Each worker holds its own ~100 MB model copy: 2 fit Render's free 512 MB instance.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads overlap one request's upload and decoding with another's inference (ONNX Runtime and
# Pillow release the GIL), so a worker is not idle while a slow client sends its bytes.
# gthread with a per-read timeout (backend/workers.py): slow clients cannot pin the threads.
worker_class = "backend.workers.ThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Load the model in the master before forking: a corrupt or missing model stops start-up at once
# with one clear message instead of a crash loop, and workers share the read-only pages.
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))  # a stuck worker is killed and replaced
graceful_timeout = 20
keepalive = 5
# Header limits: a client cannot make a worker buffer megabytes of headers.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = 50
accesslog = "-" if os.environ.get("ACCESS_LOG", "1") == "1" else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
wsgi_app = "backend.wsgi:app"


def post_fork(server, worker):
    # Each worker builds its own ONNX Runtime session (sessions do not survive a fork) before it
    # takes its first request.
    from backend.wsgi import app

    app.extensions["classifier"].warm_up()
