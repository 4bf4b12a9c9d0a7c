from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from runner.cli import main

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run from the repository root, as the README's commands do."""
    monkeypatch.chdir(ROOT)
    yield ROOT


def outbound(*args: str, input: str | None = None) -> Result:
    """Run the real `outbound` command line in-process."""
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
