"""Defer modules that a library imports at start-up but serving never uses.

Unpickling the model imports scikit-learn, and scikit-learn imports ``scipy.stats`` when it starts
(for helpers used in training and statistics). That one import is about a third of a worker's
boot time, and serving never calls into it. ``defer("scipy.stats")`` puts a stand-in module in
``sys.modules``: ``import scipy.stats`` then succeeds at once, and the first attribute read from
it imports the real module, so nothing behaves differently, it is only imported later or never.

The standard library's ``importlib.util.LazyLoader`` does not do here: on Python 3.11 the import
system reads ``__spec__`` from a module found in ``sys.modules``, which already loads it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types

_lock = threading.RLock()


class DeferredModule(types.ModuleType):
    """A stand-in in ``sys.modules`` that imports the real module on first attribute access."""

    def __init__(self, spec) -> None:
        super().__init__(spec.name)
        self.__spec__ = spec
        self.__loader__ = spec.loader
        self.__file__ = spec.origin
        if spec.submodule_search_locations is not None:
            self.__path__ = list(spec.submodule_search_locations)  # its submodules stay importable

    def __getattr__(self, attribute: str):
        # Only called for attributes the stand-in lacks: the contents of the real module. Probes
        # for optional dunders (inspect's __wrapped__, warnings' __warningregistry__) must not
        # load it; the module's own __all__ and __version__ must.
        if (attribute.startswith("__") and attribute.endswith("__")
                and attribute not in ("__all__", "__version__")):
            raise AttributeError(attribute)
        return getattr(load(self.__name__), attribute)


def defer(name: str) -> bool:
    """Put a stand-in for module ``name`` in ``sys.modules``; False if it is already imported
    or not installed (then nothing changes)."""
    with _lock:
        if name in sys.modules:
            return False
        spec = importlib.util.find_spec(name)  # imports the parent package, not the module
        if spec is None:
            return False
        stand_in = sys.modules[name] = DeferredModule(spec)
        _bind_in_parent(name, stand_in)  # what the import system does for a loaded submodule
        return True


def load(name: str) -> types.ModuleType:
    """The real module ``name``, imported now if only its stand-in was there."""
    with _lock:
        module = sys.modules.get(name)
        if isinstance(module, DeferredModule):
            del sys.modules[name]
            module = importlib.import_module(name)
            _bind_in_parent(name, module)
        return module if module is not None else importlib.import_module(name)


def _bind_in_parent(name: str, module: types.ModuleType) -> None:
    parent, _, child = name.rpartition(".")
    if parent in sys.modules:
        setattr(sys.modules[parent], child, module)


def is_deferred(name: str) -> bool:
    """True while only the stand-in of module ``name`` has been imported."""
    return isinstance(sys.modules.get(name), DeferredModule)
