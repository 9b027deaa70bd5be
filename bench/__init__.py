"""Benchmarks of the serving stack (``make bench``, ``python -m bench``).

The real server (gunicorn + ONNX Runtime) and a baseline of the same model served the common way
(Flask + TensorFlow/Keras ``model.predict``, in :mod:`bench.baseline_server`) are started one
after the other on 127.0.0.1 and measured by the very same client functions: start to first
prediction, memory, latency of a 32x32 PNG and of a 12-megapixel JPEG, batch throughput,
throughput with concurrent clients, and (the real server only) a longer load test.
Results go to ``bench/results/results.json`` and ``results.md``. ``--before REF`` measures the
server of an earlier commit too, for before/after figures from one run.

``python -m bench.hostile`` (:mod:`bench.hostile`) runs the hostile uploads and clients against the
server as deployed, with ``--before REF`` as well.

Modules: :mod:`bench.cli` (flags, orchestration), :mod:`bench.servers` (spawning and stopping
servers, memory of a process tree), :mod:`bench.checkout` (an earlier commit in a temporary git
worktree), :mod:`bench.client` (the measurements), :mod:`bench.payloads` (generated pictures,
pre-encoded requests), :mod:`bench.report` (targets, before/after, JSON and Markdown),
:mod:`bench.attacks` (the hostile files) and :mod:`bench.fixtures` (a free port, encoded pictures),
both also used by the tests.
"""
