"""A file its schema passed is not checked against it again while it holds the same data;
any other file is, and a cache that cannot be used costs only the time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner.validation import file_schema, schema_findings
from runner.yamlio import load_file
from tests.conftest import ROOT, outbound

TYPO = ("schema: {type: integer, minimum: 1}", "schema: {type: integr, minimum: 1}")


@pytest.fixture
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spec file this process has not loaded (a loaded one is not read again while it is
    unchanged on disk)."""
    return Path(shutil.copy(ROOT / "specs" / "crm.yaml", tmp_path_factory.mktemp("specs")))


def _remembered(cache: Path) -> list[Path]:
    folder = cache / "valid"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_a_spec_that_passed_is_not_checked_again(spec: Path, own_cache: Path) -> None:
    assert schema_findings(load_file(spec), "spec") == []
    assert len(_remembered(own_cache)) == 1

    spec.write_text("# a comment changes no data\n" + spec.read_text())
    file_schema.cache_clear()
    assert schema_findings(load_file(spec), "spec") == []
    assert file_schema.cache_info().misses == 0  # its schema was not even compiled
    assert len(_remembered(own_cache)) == 1


def test_an_edit_that_breaks_a_spec_that_passed_is_found(spec: Path, own_cache: Path) -> None:
    assert outbound("validate", str(spec)).exit_code == 0
    spec.write_text(spec.read_text().replace(*TYPO, 1))

    for _ in range(2):  # and again: a failure is never remembered
        result = outbound("validate", str(spec))
        assert result.exit_code == 2
        assert "'integr' is not one of ['array', 'boolean', 'integer'" in result.output
    assert len(_remembered(own_cache)) == 1  # the pass before the edit


def test_the_cache_follows_xdg_cache_home(spec: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OUTBOUND_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert outbound("validate", str(spec)).exit_code == 0
    assert len(_remembered(tmp_path / "outbound-runner")) == 1


def test_an_empty_cache_setting_remembers_nothing(spec: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTBOUND_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert outbound("validate", str(spec)).exit_code == 0
    assert list(tmp_path.iterdir()) == []


def test_a_cache_that_cannot_be_written_changes_nothing_but_the_time(
        spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("OUTBOUND_CACHE_DIR", str(blocker / "cache"))  # a folder in a file
    result = outbound("validate", str(spec))
    assert (result.exit_code, result.output) == (0, "1 file checked, all valid\n")
    spec.write_text(spec.read_text().replace(*TYPO, 1))
    assert outbound("validate", str(spec)).exit_code == 2


def test_with_no_home_to_cache_in_nothing_is_written_where_it_runs(
        spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A container's user with no HOME and no passwd entry: "~" stays "~", a relative path."""
    monkeypatch.delenv("OUTBOUND_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # relative: ignored, as XDG says
    monkeypatch.setattr("os.path.expanduser", lambda path: path)
    monkeypatch.chdir(tmp_path)
    assert outbound("validate", str(spec)).exit_code == 0
    assert list(tmp_path.iterdir()) == []

