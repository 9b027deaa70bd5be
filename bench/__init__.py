"""Benchmarks of the serving stack (``make bench``, ``python -m bench``).

The real server (gunicorn + ONNX Runtime) and a baseline of the same model served the common way
(Flask + TensorFlow/Keras ``model.predict``, in :mod:`bench.baseline_server`) are started one
after the other on 127.0.0.1 and measured by the very same client functions: start to first
prediction, memory, latency of a 32x32 PNG and of a 12-megapixel JPEG, batch throughput,
throughput with concurrent clients, and (the real server only) a longer load test.
Results go to ``bench/results/results.json`` and ``results.md``.

Modules: :mod:`bench.cli` (flags, orchestration), :mod:`bench.servers` (spawning and stopping
servers, memory of a process tree), :mod:`bench.client` (the measurements), :mod:`bench.payloads`
(generated pictures, pre-encoded requests), :mod:`bench.report` (targets, JSON and Markdown).
"""
