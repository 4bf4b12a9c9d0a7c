"""Every load-time check stops the run, with its location, before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DATA, outbound

BAD_PLAYBOOKS = sorted((DATA / "bad_playbooks").glob("*.yaml"))


def _expected(path: Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect: ")


@pytest.mark.parametrize("path", BAD_PLAYBOOKS, ids=lambda p: p.stem)
def test_validate_reports_each_broken_playbook_exactly(in_repo: Path, path: Path) -> None:
    result = outbound("validate", str(path.relative_to(in_repo)))
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == _expected(path)


@pytest.mark.parametrize("path", BAD_PLAYBOOKS, ids=lambda p: p.stem)
def test_run_refuses_each_broken_playbook_with_the_same_message(in_repo: Path,
                                                                path: Path) -> None:
    result = outbound("run", str(path.relative_to(in_repo)), "--sim")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"error: {_expected(path)}"
    assert result.stdout == ""  # the run never started
