"""Deferred imports: a stand-in until first use, then the real module, with nothing lost."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend import lazy_imports

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def package(tmp_path, monkeypatch):
    """A package ``lazypkg`` whose submodule ``heavy`` records each time it is executed."""
    root = tmp_path / "lazypkg"
    (root / "heavy").mkdir(parents=True)
    (root / "__init__.py").write_text("executed = []\n")
    (root / "heavy" / "__init__.py").write_text(
        "import lazypkg\nlazypkg.executed.append('heavy')\n__all__ = ['VALUE']\nVALUE = 42\n"
        "def double(x):\n    return 2 * x\n")
    (root / "heavy" / "part.py").write_text("PART = 'part'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in [m for m in sys.modules if m == "lazypkg" or m.startswith("lazypkg.")]:
        del sys.modules[name]


def test_deferred_module_loads_on_first_use(package):
    assert lazy_imports.defer("lazypkg.heavy")
    import lazypkg
    import lazypkg.heavy  # the import statement itself does not run the module

    assert lazypkg.executed == [] and lazy_imports.is_deferred("lazypkg.heavy")
    assert lazypkg.heavy.double(lazypkg.heavy.VALUE) == 84  # first use runs it, once
    assert lazypkg.executed == ["heavy"] and not lazy_imports.is_deferred("lazypkg.heavy")
    from lazypkg.heavy import VALUE

    assert VALUE == 42 and lazypkg.executed == ["heavy"]
    assert sys.modules["lazypkg.heavy"] is lazypkg.heavy  # the real module replaced the stand-in


def test_star_import_of_a_deferred_module(package):
    lazy_imports.defer("lazypkg.heavy")
    names = {}
    exec("from lazypkg.heavy import *", names)
    assert names["VALUE"] == 42 and "double" not in names  # the real module's __all__


def test_submodules_of_a_deferred_package_stay_importable(package):
    lazy_imports.defer("lazypkg.heavy")
    from lazypkg.heavy import part

    assert part.PART == "part"


def test_defer_changes_nothing_for_imported_or_missing_modules(package):
    import lazypkg.heavy

    assert not lazy_imports.defer("lazypkg.heavy")
    assert sys.modules["lazypkg.heavy"] is lazypkg.heavy
    assert not lazy_imports.defer("lazypkg.missing")
    assert "lazypkg.missing" not in sys.modules


def test_dunder_probes_do_not_load_the_module(package):
    lazy_imports.defer("lazypkg.heavy")
    import lazypkg

    assert not hasattr(sys.modules["lazypkg.heavy"], "__wrapped__")
    assert lazypkg.executed == []


@pytest.mark.slow
def test_serving_never_runs_the_deferred_modules_yet_they_still_work():
    # The real server entry point, the shipped model, one prediction: the deferred modules stay
    # stand-ins, and code that does use one afterwards gets the real module.
    code = (
        "import io, sys\n"
        "import numpy as np\n"
        "from PIL import Image\n"
        "from backend.wsgi import app\n"
        "from backend.lazy_imports import is_deferred\n"
        "png = io.BytesIO(); Image.new('RGB', (32, 32), (200, 30, 30)).save(png, 'PNG')\n"
        "upload = {'image': (io.BytesIO(png.getvalue()), 'a.png')}\n"
        "reply = app.test_client().post('/api/predict', data=upload)\n"
        "assert reply.status_code == 200, reply.get_json()\n"
        "assert is_deferred('scipy.stats') and 'scipy.stats._stats_py' not in sys.modules\n"
        "assert is_deferred('numpy.f2py') and is_deferred('numpy.testing')\n"
        "from sklearn.utils.fixes import _mode\n"
        "np.testing.assert_equal(1, 1)\n"
        "print(int(np.ravel(_mode(np.array([3, 1, 3]))[0])[0]), is_deferred('scipy.stats'),\n"
        "      is_deferred('numpy.testing'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "ACCESS_LOG": "0"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["3", "False", "False"]
