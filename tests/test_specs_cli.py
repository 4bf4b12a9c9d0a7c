from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import outbound


def test_specs_list_names_every_endpoint(in_repo: Path) -> None:
    result = outbound("specs", "list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["SERVICE", "ENDPOINT", "KIND", "METHOD", "PATH"]
    assert ["huawei-isales", "appoint.create", "create", "POST",
            "/rest/isales/v1/openapi/campaigns/{vdnId}/appoint/create"] in [
                line.split() for line in lines]
    assert len(lines) == 6


def test_specs_list_as_json(in_repo: Path) -> None:
    listed = json.loads(outbound("specs", "list", "--format", "json").output)
    assert {(e["service"], e["endpoint"]) for e in listed} == {
        ("crm", "tasks.list"), ("huawei-isales", "appoint.list"),
        ("huawei-isales", "appoint.create"), ("huawei-isales", "callresult.detail"),
        ("speech-openapi", "task.page")}


def test_specs_show_gives_params_rules_and_fields(in_repo: Path) -> None:
    result = outbound("specs", "show", "huawei-isales.appoint.list")
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split() for line in result.output.splitlines() if line.strip()}
    assert rows["vdnId"][:5] == ["vdnId", "path", "yes", "integer", "1..9999"]
    assert rows["limit"][:5] == ["limit", "body", "yes", "integer", ">="]
    assert "data[].failCode" in rows
    assert ("Pagination: offset style (offset/limit), items at data, total at totalCount"
            in result.output)


def test_specs_show_parts_its_sections_with_a_blank_line(in_repo: Path) -> None:
    shown = outbound("specs", "show", "huawei-isales.appoint.create").stdout
    starts = [shown.index(f"\n{head}") for head in ("Params\n", "Response fields\n",
                                                      "Value appointId:", "Result codes\n",
                                                      "Notes\n")]
    assert starts == sorted(starts)
    assert all(shown[start - 1] == "\n" for start in starts)  # each after a blank line


def test_specs_show_says_which_codes_are_retried_for_the_endpoints_kind(in_repo: Path) -> None:
    def lines(endpoint: str) -> list[str]:
        shown = outbound("specs", "show", f"huawei-isales.{endpoint}").stdout.splitlines()
        return [line for line in shown if line.startswith(("0200006", "0200022"))]
    assert lines("appoint.list") == ["0200006  database operation error (retried)",
                                     "0200022  called too fast (retried)"]
    assert lines("appoint.create") == [
        "0200006   database operation error (not retried: a write)",
        "0200022   called too fast (retried: it was turned away unread)"]


def test_specs_show_suggests_a_near_miss(in_repo: Path) -> None:
    result = outbound("specs", "show", "huawei-isales.apoint.list")
    assert result.exit_code == 2
    assert ("huawei-isales has no endpoint 'apoint.list'; did you mean 'appoint.list'?"
            in result.output)


def test_a_local_spec_shadows_the_shipped_one(tmp_path: Path, monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "crm.yaml").write_text(
        "spec_version: 1\nservice: crm\ntitle: Mine\nbase_url: http://x\nauth: {scheme: none}\n"
        "endpoints:\n  mine.detail:\n    kind: detail\n    method: GET\n    path: /m\n"
        "    response: {schema: {type: object}}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = outbound("specs", "list")
    assert "mine.detail" in result.output and "tasks.list" not in result.output
    assert "appoint.list" in result.output
