"""backend/model.py: the model as the web layer holds it, and its warm-up."""

import subprocess
import sys

import pytest

from backend.model import ModelService
from ml.inference.artifact import ArtifactError
from tests.server import ROOT


def test_a_model_that_cannot_run_fails_its_warm_up(tmp_path):
    from ml.inference import artifact

    broken = tmp_path / "model.pkl"
    artifact.save(broken, None, classes=[str(i) for i in range(10)], params={}, metrics={})
    service = ModelService(broken)
    with pytest.raises(ArtifactError, match="the model cannot run"):
        service.warm_up()
    assert not service.ready.is_set()


def test_the_interpreter_waits_for_a_background_warm_up_before_it_exits(model_path):
    """Exiting under a running ONNX Runtime call aborted the process ("terminate called without an
    active exception", SIGABRT). atexit handlers run once the interpreter is done waiting for its
    threads: by then the model is warm."""
    script = ("import atexit, sys\n"
              "from backend.model import ModelService\n"
              "service = ModelService(sys.argv[1])\n"
              "service.warm_up_in_background()\n"
              "atexit.register(lambda: print('warm' if service.ready.is_set() else 'cold'))\n")
    done = subprocess.run([sys.executable, "-c", script, str(model_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, "warm\n"), done.stderr[-2000:]
