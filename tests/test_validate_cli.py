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
    assert len(set(result.output.splitlines())) == len(result.output.splitlines())  # once each
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


def test_nothing_to_check_by_default_says_so(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Not '0 problems in 0 of 0 files' with exit 2: where to look, and how to name it."""
    monkeypatch.chdir(tmp_path)
    result = outbound("validate")
    assert (result.exit_code, result.output) == (2, (
        "nothing to check: no .yaml files in specs/ or playbooks/ here; name the files or "
        "folders to check (outbound validate PATH ...)\n"))


def test_an_undecodable_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"title: caf\xe9\n")
    result = outbound("validate", str(bad))
    assert result.exit_code == 2
    assert f"{bad}: not UTF-8 text" in result.output


ODD_FILES = {
    "empty": "",
    "only a comment": "# nothing\n",
    "a scalar": "42\n",
    "binary": "\x00\x01\x02",
    "deep nesting": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "a huge number": "spec_version: 1" + "0" * 5000 + "\n",
    "nulls everywhere": "spec_version: 1\nservice: ~\ntitle: ~\nbase_url: ~\nauth: ~\n"
                        "endpoints: ~\n",
    "endpoint of the wrong shape": "spec_version: 1\nservice: x\ntitle: x\nbase_url: x\n"
                                   "auth: {scheme: none}\nendpoints: {a.b: [1, 2]}\n",
    "playbook of nulls": "playbook_version: 1\nname: ~\nservices: ~\nsteps: ~\n",
    "playbook with odd steps": "playbook_version: 1\nname: x\nservices: {s: {spec: crm}}\n"
                               "steps: [{id: a, call: s.tasks.list, params: [1]}, 7, ~]\n",
    "playbook with a spec path outside": "playbook_version: 1\nname: x\n"
                                         "services: {s: {spec: /etc/passwd.yaml}}\n"
                                         "steps: [{id: a, wait: 1s}]\n",
    "unicode soup": "spec_version: 1\nservice: \"\U0001F600\u202e\"\ntitle: \"\\ud800\"\n",
}


@pytest.mark.parametrize("text", ODD_FILES.values(), ids=ODD_FILES.keys())
def test_odd_files_get_a_clean_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = outbound("validate", str(path))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert result.output.startswith(str(path))


def test_a_misspelled_kind_key_is_named(tmp_path: Path) -> None:
    """Otherwise the file reads as an unknown kind, the misspelling hidden behind it."""
    playbook = tmp_path / "p.yaml"
    playbook.write_text("# today's callbacks\nplaybook_verison: 1\nname: x\n")
    result = outbound("validate", str(playbook))
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == (
        f"{playbook}:2:1 (playbook_verison): not a spec, a playbook or a fault plan: expected a "
        "mapping with spec_version, playbook_version or faults; unknown key "
        "'playbook_verison'; did you mean 'playbook_version'?")


@pytest.mark.parametrize("text", ["", "# a campaign to come\n"])
def test_an_empty_file_is_said_to_be_empty(tmp_path: Path, text: str) -> None:
    path = tmp_path / "campaign.yaml"
    path.write_text(text)
    result = outbound("validate", str(path))
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == (
        f"{path}: the file is empty; a spec, a playbook or a fault plan is a mapping with "
        "spec_version, playbook_version or faults")


def test_each_missing_key_is_named_at_its_own_path(tmp_path: Path) -> None:
    playbook = tmp_path / "p.yaml"
    playbook.write_text("playbook_version: 1\nsteps: [{id: a, wait: 1s}]\n")
    result = outbound("validate", str(playbook))
    assert result.exit_code == 2
    assert result.output.splitlines()[:2] == [
        f"{playbook}:1:1 (name): 'name' is a required property (what the console and the "
        "reports call the playbook)",
        f"{playbook}:1:1 (services): 'services' is a required property (the vendor APIs it "
        "calls, each named for its steps' call: {isales: {spec: huawei-isales, base_url: "
        "...}})"]


def test_a_fault_plan_is_checked_against_its_schema(tmp_path: Path) -> None:
    plan = tmp_path / "faults.yaml"
    plan.write_text("seed: 1\nfaults:\n  - {kind: latency, seconds: 0.1}\n  - {kind: nope}\n")
    result = outbound("validate", str(plan), str(DATA / "faults"))
    assert result.exit_code == 2
    assert result.output.splitlines()[0].startswith(f"{plan}:4:12 (faults[1].kind): 'nope' is "
                                                    "not one of ['latency', ")
    assert result.output.splitlines()[-1] == "1 problem in 1 of 2 files"


@pytest.mark.parametrize("args", [("run", ""), ("validate", "specs", " "), ("check", ""),
                                  ("runs", "list", "--journal", ""),
                                  ("run", "playbooks/speech-callbacks.yaml", "--vars-file", "")])
def test_an_empty_path_is_refused_as_empty(in_repo: Path, args: tuple[str, ...]) -> None:
    """Not read as '.', the current folder ("cannot be read: Is a directory")."""
    result = outbound(*args)
    assert result.exit_code == 2
    assert "it is empty, and names no file" in result.output
    assert "directory" not in result.output


RECONCILED_SPEC = """\
spec_version: 1
service: demo
title: Demo
base_url: "https://{host}"
auth: {scheme: none}
endpoints:
  things.list:
    kind: list
    method: GET
    path: /things
    params:
      name: {in: query, schema: {type: string}}
      page: {in: query, schema: {type: integer, minimum: 1}}
      size: {in: query, schema: {type: integer, minimum: 1, maximum: 50}}
    pagination: {style: page, page: page, size: size, items: rows, total: total}
    response:
      schema:
        type: object
        properties:
          total: {type: integer}
          rows: {type: array, items: {properties: {name: {type: string}, thingId: {type: string}}}}
  things.create:
    kind: create
    method: POST
    path: /things
    params:
      name: {in: body, required: true, schema: {type: string}}
    response:
      schema: {type: object, properties: {thing: {properties: {thingId: {type: string}}}}}
    values:
      thingId: {from: [thing.thingId]}
    reconcile:
      via: things.list
      params: {name: "{{ request.name }}"}
      match: {name: "{{ request.name }}"}
      values: {thingId: thingId}
"""


def _validated(tmp_path: Path, *replacements: tuple[str, str]) -> list[str]:
    text = RECONCILED_SPEC
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    (tmp_path / "demo.yaml").write_text(text, encoding="utf-8")
    result = outbound("validate", str(tmp_path / "demo.yaml"))
    assert result.exit_code == (2 if replacements else 0), result.output
    return [line.split(" ", 1)[1] for line in result.output.splitlines()[:-1]]


def test_a_reconcile_names_what_its_list_has(tmp_path: Path) -> None:
    assert _validated(tmp_path) == []
    assert _validated(tmp_path, ("via: things.list", "via: things.create")) == [
        "(endpoints['things.create'].reconcile.via): reconcile needs a paginated list endpoint "
        "of this spec; 'things.create' is not one; did you mean 'things.list'?"]
    assert _validated(tmp_path, ("via: things.list", "via: stock")) == [
        "(endpoints['things.create'].reconcile.via): reconcile needs a paginated list endpoint "
        "of this spec; 'stock' is not one (its lists: things.list)"]
    assert _validated(tmp_path, ("    pagination: {style: page, page: page, size: size, items: "
                                 "rows, total: total}\n", "")) == [
        "(endpoints['things.create'].reconcile.via): reconcile needs a paginated list endpoint "
        "of this spec; 'things.list' is not one (it has none)"]
    assert _validated(tmp_path, ("values: {thingId: thingId}", "values: {thingId: thingID}"),
                      ("match: {name:", "match: {nam:")) == [
        "(endpoints['things.create'].reconcile.match.nam): the items of things.list have no "
        "field 'nam'; did you mean 'name'?",
        "(endpoints['things.create'].reconcile.values.thingId): the items of things.list have "
        "no field 'thingID'; did you mean 'thingId'?"]


def test_a_list_that_names_no_list_is_one_problem_not_one_per_reconcile_field(
        tmp_path: Path) -> None:
    assert _validated(tmp_path, ("items: rows", "items: row")) == [
        "(endpoints['things.list'].pagination.items): pagination items 'row' is not a field of "
        "the response schema; did you mean 'rows'?"]


def test_a_misspelled_nested_field_is_suggested_whole(tmp_path: Path) -> None:
    assert _validated(tmp_path, ("from: [thing.thingId]", "from: [thing.thingID]")) == [
        "(endpoints['things.create'].values.thingId.from[0]): 'thing.thingID' is not a field of "
        "the response schema; did you mean 'thing.thingId'?"]
