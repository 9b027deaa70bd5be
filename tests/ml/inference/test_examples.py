"""The examples' manifest as the server reads it."""

from __future__ import annotations

from ml.inference.examples import MANIFEST, read_manifest


def test_a_missing_or_damaged_manifest_means_no_examples(tmp_path):
    assert read_manifest(tmp_path / "nowhere") == []
    (tmp_path / MANIFEST).write_text("{not json")
    assert read_manifest(tmp_path) == []
    (tmp_path / MANIFEST).write_text('[{"label": "cat", "file": "gone.jpg"}, 3]')
    assert read_manifest(tmp_path) == []  # listed files that are not there are left out
