"""The servers under test: started as users start them, and their memory read over the whole
process tree (master, workers and whatever they start)."""

import subprocess
import sys
import time

from backend.config import from_env
from bench.fixtures import free_port
from bench.servers import PeakTreeRSS, ServerProcess, ServerSpec, ours_spec, tree_rss_mb


def test_the_performance_phases_run_the_launched_server_with_every_per_client_limit_off(tmp_path):
    spec = ours_spec(tmp_path / "model.pkl", 8000)
    assert spec.argv == [sys.executable, "-m", "backend.serve"]
    limits = {name for name in from_env() if name.endswith("RATE_LIMIT")}
    assert limits and {name: spec.env.get(name) for name in limits} == dict.fromkeys(limits, "")
    assert all(f"{name}=''" in spec.description for name in limits)


def test_another_checkouts_server_runs_from_that_checkout(tmp_path):
    assert ours_spec(tmp_path / "model.pkl", 8000, root=tmp_path).cwd == tmp_path


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_server_memory_counts_the_whole_process_tree():
    """A master whose worker started a process of its own: all three are counted."""
    worker = f"import subprocess, sys; subprocess.run({python('import time; time.sleep(60)')!r})"
    master = f"import subprocess, sys; subprocess.run({python(worker)!r})"
    spec = ServerSpec("tree", "three processes", free_port(), python(master))
    with ServerProcess(spec) as server:
        deadline = time.monotonic() + 20
        while (memory := server.memory())["processes"] < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert memory["processes"] == 3 and memory["rss_mb"] > 0


def test_the_peak_counts_a_child_that_comes_and_goes_during_the_block():
    """A process whose child (a decoder pool's process, say) holds 200 MB for a second: that
    memory is in the peak, though the child is gone by the end of the block."""
    child = "import time; block = b'x' * (200 * 2**20); time.sleep(1)"
    parent = f"import subprocess, time; time.sleep(0.5); subprocess.run({python(child)!r}); time.sleep(60)"
    with subprocess.Popen(python(parent)) as process:
        try:
            with PeakTreeRSS(process.pid, interval=0.05) as memory:
                time.sleep(2.5)
            after_mb = tree_rss_mb(process.pid)
        finally:
            process.kill()
    assert memory.peak_mb - memory.before_mb > 150
    assert memory.peak_mb - after_mb > 150  # the child had exited
