from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DATA, outbound

BAD_SPECS = sorted((DATA / "bad_specs").glob("*.yaml"))


def test_everything_shipped_is_valid(in_repo: Path) -> None:
    result = outbound("validate")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("all valid")


@pytest.mark.parametrize("path", BAD_SPECS, ids=lambda p: p.stem)
def test_each_broken_spec_gets_its_exact_message(in_repo: Path, path: Path) -> None:
    expected = path.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect: ")
    result = outbound("validate", str(path.relative_to(in_repo)))
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == expected
    assert "Traceback" not in result.output


def test_a_broken_file_does_not_hide_the_others(in_repo: Path) -> None:
    result = outbound("validate", "tests/data/bad_specs", "specs")
    assert result.exit_code == 2
    reported = {line.split(":")[0] for line in result.output.splitlines()[:-1]}
    assert reported == {str(p.relative_to(in_repo)) for p in BAD_SPECS}
    files = len(BAD_SPECS) + 3
    assert result.output.splitlines()[-1].endswith(f" in {len(BAD_SPECS)} of {files} files")


def test_json_format_carries_the_same_findings(in_repo: Path) -> None:
    result = outbound("validate", "--format", "json", "tests/data/bad_specs/unknown_key.yaml")
    assert result.exit_code == 2
    document = json.loads(result.output)
    assert document["valid"] is False
    assert document["findings"] == [{
        "file": "tests/data/bad_specs/unknown_key.yaml", "line": 16, "column": 5,
        "path": "endpoints['things.list'].pagenation",
        "message": "unknown key 'pagenation'; did you mean 'pagination'?",
    }]


def test_a_missing_path_is_reported(in_repo: Path) -> None:
    result = outbound("validate", "no/such/place")
    assert result.exit_code == 2
    assert "no/such/place: no such file, or no .yaml files in this folder" in result.output


def test_an_undecodable_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"title: caf\xe9\n")
    result = outbound("validate", str(bad))
    assert result.exit_code == 2
    assert f"{bad}: not UTF-8 text" in result.output
