"""Concurrent throughput of this checkout's server against another commit's, both running, in
alternating rounds: ``python -m bench.interleaved --before REF``.

``python -m bench --before`` measures the two servers one after the other, so a change in the
machine's load between them (another process, a busy neighbour) reads as a difference between
them: on a shared 2-CPU machine its 15 s concurrent phase and 60 s load test have differed by 20-30 %
for identical code. Here the rounds alternate (after, before, before, after, ...), so drift falls
on both, and the median of each server's rounds is compared.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from bench import client
from bench.checkout import counterpart, worktree
from bench.fixtures import free_port
from bench.payloads import build_workload
from bench.servers import ServerProcess, ours_spec
from ml import SHIPPED_MODEL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.interleaved", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", metavar="REF", required=True, help="the git commit to compare with")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per server (default 6)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of a round (default 10)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    args = parser.parse_args(argv)
    upload = build_workload().small_png
    rates: dict[str, list[float]] = {"after": [], "before": []}
    with worktree(args.before) as tree:
        specs = (ours_spec(SHIPPED_MODEL, free_port(), name="after"),
                 ours_spec(counterpart(SHIPPED_MODEL, tree), free_port(), root=tree, name="before"))
        with ServerProcess(specs[0]) as after, ServerProcess(specs[1]) as before:
            for server in (after, before):
                client.wait_for_first_prediction(server, upload, 300)
            for round_ in range(args.rounds):
                for server in (after, before) if round_ % 2 == 0 else (before, after):
                    result = client.concurrent_throughput(server.base_url, upload, args.clients,
                                                          args.seconds, lambda message: None)
                    if result["failures"]:
                        print(f"{server.spec.name}: {result['failures']} failed requests", file=sys.stderr)
                        return 3
                    rate = result["requests_per_s"]
                    rates[server.spec.name].append(rate)
                    print(f"round {round_ + 1} {server.spec.name}: {rate} req/s", flush=True)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(f"\n{args.clients} clients, {args.rounds} rounds of {args.seconds:g} s each, alternating")
    print(f"median req/s: after {medians['after']:.1f}, before ({args.before}) {medians['before']:.1f}; "
          f"after ÷ before {medians['after'] / medians['before']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
