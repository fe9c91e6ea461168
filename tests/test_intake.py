from pathlib import Path

import pytest

from arflow.errors import ConfigError
from arflow.intake import discover, fingerprint, is_candidate, unique_by_content


def test_discover_ignores_hidden_temporary_and_sidecar_files(tmp_path: Path) -> None:
    for name in ("a.pdf", "b.PNG", ".hidden.pdf", "c.pdf.part", "d.tmp", "a.gt.json", "~$lock"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.xml").write_bytes(b"<x/>")
    assert [p.name for p in discover(tmp_path)] == ["a.pdf", "b.PNG", "e.xml"]


def test_directories_are_not_candidates(tmp_path: Path) -> None:
    assert not is_candidate(tmp_path)


def test_same_bytes_under_two_names_are_one_document(tmp_path: Path) -> None:
    (tmp_path / "one.pdf").write_bytes(b"%PDF-same")
    (tmp_path / "two.pdf").write_bytes(b"%PDF-same")
    (tmp_path / "three.pdf").write_bytes(b"%PDF-other")
    files = [fingerprint(p) for p in discover(tmp_path)]
    first, repeats = unique_by_content(files)
    assert [f.name for f in first] == ["one.pdf", "three.pdf"]
    assert [f.name for f in repeats] == ["two.pdf"]
    assert files[0].sha256 == files[2].sha256 and files[0].size == 9


def test_missing_inbox_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a directory"):
        discover(tmp_path / "missing")
