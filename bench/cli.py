"""``python -m bench``: benchmark the real server, then the baseline, and write the results.

Our server runs with every per-client limit off (bench/servers.py): the phases measure the server.

``--before REF`` also measures the server of an earlier commit, side by side (bench/checkout.py).

Exit status: 0 when the run completed (whether or not the targets were met: the table says),
3 when it completed but a phase had a failed request (marked FAILED in the results), 2 when a
server failed to start (or died), the model is missing or ``--before``'s commit cannot be checked
out, 130 on Ctrl-C, 1 on any other error. Servers are always stopped on the way out.
"""

from __future__ import annotations

import argparse
import signal
import sys
from functools import partial
from pathlib import Path

from bench import checkout, report
from bench.model import measure_model
from bench.payloads import build_workload
from bench.runner import Settings, measure_server
from bench.servers import ROOT, ServerFailed, baseline_spec, ours_spec
from ml import SHIPPED_MODEL

FULL = {"requests": 500, "big_requests": 50, "batches": 10, "concurrent_seconds": 15.0,
        "load_seconds": 60.0, "starts": 5}
QUICK = {"requests": 20, "big_requests": 5, "batches": 2, "concurrent_seconds": 3.0, "load_seconds": 5.0,
         "starts": 1}
EXIT_SERVER_FAILED = 2
EXIT_FAILED_PHASES = 3
EXIT_INTERRUPTED = 130


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Latency, memory, start-up and throughput of the real server (started by "
                    "python -m backend.serve, every per-client limit off) vs a plain Flask + Keras "
                    "server of the same model; writes results.json and results.md. A phase with any "
                    "failed request is marked FAILED (exit status 3).")
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL,
                        help="model artifact (default: the shipped one, %(default)s)")
    parser.add_argument("--requests", type=int, help="32x32 PNG latency requests (default 500; RSS is "
                                                     "read after them)")
    parser.add_argument("--big-requests", type=int, help="12 MP JPEG latency requests (default 50)")
    parser.add_argument("--batches", type=int, help="64-image batch requests (default 10)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--concurrent-seconds", type=float, help="concurrent throughput phase (default 15)")
    parser.add_argument("--load-seconds", type=float, help="load test of our server (default 60)")
    parser.add_argument("--starts", type=int, help="cold starts per server; the median is reported "
                                                   "(default 5)")
    parser.add_argument("--start-timeout", type=float, default=300.0,
                        help="seconds a server may take to its first prediction (default 300)")
    parser.add_argument("--skip-baseline", action="store_true", help="measure only our server")
    parser.add_argument("--previous-model", type=Path, default=None,
                        help="also measure this artifact (e.g. the model shipped before: git show "
                             "REV:models/cifar10_cnn.pkl) in-process and in our server, side by side")
    parser.add_argument("--before", metavar="REF", default=None,
                        help="also measure the server of this git commit (checked out in a temporary "
                             "worktree, started by its own launcher with its own copy of the model "
                             "file), right after ours and the same way: both columns, after ÷ before, "
                             f"and every figure more than {report.TOLERANCE:.0%}% worse flagged")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: " + ", ".join(f"--{k.replace('_', '-')} {v:g}"
                                                       for k, v in QUICK.items()))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results",
                        help="output folder (default: bench/results)")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name in ("requests", "big_requests", "batches", "concurrency", "starts"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("concurrent_seconds", "load_seconds", "start_timeout"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return args


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(requests=args.requests, big_requests=args.big_requests, batches=args.batches,
                    concurrency=args.concurrency, concurrent_seconds=args.concurrent_seconds,
                    load_seconds=args.load_seconds, start_timeout=args.start_timeout,
                    starts=args.starts)


def run(args: argparse.Namespace) -> dict:
    """Measure our server, then (unless skipped) the baseline, one after the other."""
    settings = settings_from(args)
    model_path = args.model.resolve()
    print(f"generating the test pictures; model {model_path}", flush=True)
    workload = build_workload()
    results = report.new_results({**settings.to_dict(), "quick": args.quick}, model_path, workload.describe())
    print("[model] in-process predict_proba latency and ONNX vs Keras agreement", flush=True)
    results["model_benchmark"] = measure_model(model_path, repeats=100 if args.quick else 1000,
                                               n_agreement=64 if args.quick else 1000)
    results["servers"]["ours"] = measure_server(ours_spec, model_path, workload, settings, load_test=True)
    if args.before:
        results["before"] = measure_before(args.before, model_path, workload, settings)
    if args.previous_model:
        previous = args.previous_model.resolve()
        print(f"[previous model] {previous}", flush=True)
        results["previous_model"] = {
            "model": report.model_info(previous),
            "model_benchmark": measure_model(previous, repeats=100 if args.quick else 1000,
                                             n_agreement=64 if args.quick else 1000),
            "server": measure_server(ours_spec, previous, workload, settings, load_test=False),
        }
    if not args.skip_baseline:
        results["servers"]["baseline"] = measure_server(baseline_spec, model_path, workload, settings,
                                                        load_test=False)
    report.finish(results)
    return results


def measure_before(ref: str, model_path: Path, workload, settings: Settings) -> dict:
    """The server of commit ``ref``, from a temporary worktree, with the ref's own copy of the
    model file."""
    with checkout.worktree(ref) as tree:
        model = checkout.counterpart(model_path, tree)
        if not model.is_file():
            raise checkout.CheckoutFailed(f"{ref} has no model file {model.relative_to(tree)}")
        print(f"[before] {ref} checked out in {tree}; model {model}", flush=True)
        return {"ref": ref, **checkout.describe(tree), "model": report.model_info(model),
                "server": measure_server(partial(ours_spec, root=tree, name="before"), model, workload,
                                         settings, load_test=True)}


def interrupt_on_sigterm() -> None:
    """Make SIGTERM behave like Ctrl-C, so that the servers are stopped on the way out."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    interrupt_on_sigterm()
    if not args.model.is_file():
        print(f"error: model not found: {args.model} (train it with `make train`, or pass --model)",
              file=sys.stderr)
        return EXIT_SERVER_FAILED
    try:
        results = run(args)
    except checkout.CheckoutFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_SERVER_FAILED
    except ServerFailed as error:
        print(f"error: {error}\n--- server output (last lines) ---\n{error.output_tail}", file=sys.stderr)
        return EXIT_SERVER_FAILED
    except KeyboardInterrupt:
        print("interrupted: servers stopped, no results written", file=sys.stderr)
        return EXIT_INTERRUPTED
    json_path, md_path = report.write(results, args.out)
    print("\n" + report.to_markdown(results))
    print(f"results written to {json_path} and {md_path}")
    if results.get("before", {}).get("worse"):
        print(f"more than {report.TOLERANCE:.0%} worse than {args.before}:\n"
              + "\n".join(results["before"]["worse"]), file=sys.stderr)
    if results["failed_phases"]:
        print("FAILED phases:\n" + "\n".join(results["failed_phases"]), file=sys.stderr)
        return EXIT_FAILED_PHASES
    return 0
