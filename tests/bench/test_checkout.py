"""``--before REF``: the commit checked out in a temporary git worktree, removed afterwards."""

import subprocess

import pytest

from bench import checkout


def git(repo, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com",
                           *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """A repository of two commits, each with its own version of a file."""
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(repo))
    for version in ("first", "second"):
        (repo / "version.txt").write_text(version)
        git(repo, "add", "version.txt")
        git(repo, "commit", "-q", "-m", f"the {version} version")
    return repo


def test_a_ref_is_checked_out_apart_and_removed_afterwards(repo):
    with checkout.worktree("HEAD~1", repo) as tree:
        assert (tree / "version.txt").read_text() == "first"
        assert checkout.describe(tree) == {"commit": git(repo, "rev-parse", "HEAD~1"),
                                           "subject": "the first version"}
        assert str(tree) in git(repo, "worktree", "list")
    assert not tree.exists()
    assert str(tree) not in git(repo, "worktree", "list")
    assert (repo / "version.txt").read_text() == "second"  # the checkout itself is untouched


def test_an_unknown_ref_says_so_and_leaves_nothing_behind(repo):
    with pytest.raises(checkout.CheckoutFailed, match="no-such-ref"), checkout.worktree("no-such-ref", repo):
        pass
    assert len(git(repo, "worktree", "list").splitlines()) == 1


def test_a_file_of_the_repository_has_its_counterpart_in_the_checkout(tmp_path):
    repo, tree = tmp_path / "repo", tmp_path / "tree"
    assert checkout.counterpart(repo / "models" / "m.pkl", tree, repo) == tree / "models" / "m.pkl"
    assert checkout.counterpart(tmp_path / "elsewhere.pkl", tree, repo) == tmp_path / "elsewhere.pkl"
