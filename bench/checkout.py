"""The code of another commit, for before/after figures from one run (``--before REF``): the
commit checked out in a temporary git worktree, whose server is then started by its own launcher
like ours (bench/servers.py), and removed afterwards."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.servers import ROOT


class CheckoutFailed(RuntimeError):
    """git could not check the commit out (an unknown ref, say); carries git's message."""


def git(repo: Path, *args: str) -> str:
    run = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if run.returncode != 0:
        raise CheckoutFailed(f"git {' '.join(args)}: {run.stderr.strip()}")
    return run.stdout.strip()


@contextmanager
def worktree(ref: str, repo: Path = ROOT) -> Iterator[Path]:
    """``ref`` of ``repo`` checked out, detached, in a temporary worktree; yields its folder and
    removes it (and git's record of it) on the way out."""
    folder = Path(tempfile.mkdtemp(prefix="bench-before-"))
    try:
        git(repo, "worktree", "add", "--detach", str(folder), f"{ref}^{{commit}}")
        yield folder
    finally:
        # --force: the server leaves files git does not track (__pycache__ and the like).
        subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(folder)],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(["git", "-C", str(repo), "worktree", "prune"], capture_output=True)


def counterpart(path: Path, tree: Path, repo: Path = ROOT) -> Path:
    """The file at ``path``'s place in the checkout at ``tree`` (``path`` itself if it is outside
    ``repo``): each commit's server loads its own copy of the model file, since an artifact pickles
    its classes' module paths."""
    return tree / path.relative_to(repo) if path.is_relative_to(repo) else path


def describe(tree: Path) -> dict:
    """The commit checked out at ``tree``: its hash and subject line."""
    return {"commit": git(tree, "rev-parse", "HEAD"), "subject": git(tree, "log", "-1", "--format=%s")}
