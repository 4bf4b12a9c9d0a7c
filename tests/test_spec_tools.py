"""`outbound specs export-openapi` and `outbound specs diff`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from tests.conftest import ROOT, outbound

SHIPPED = ["huawei-isales", "speech-openapi", "crm"]


@pytest.mark.parametrize("name", SHIPPED)
def test_each_spec_exports_a_valid_openapi_document(in_repo: Path, name: str) -> None:
    result = outbound("specs", "export-openapi", name)
    assert result.exit_code == 0
    document = json.loads(result.output)
    validate(document)  # raises if the document is not valid OpenAPI 3.1
    assert document["openapi"] == "3.1.0"
    operations = [op for path in document["paths"].values() for op in path.values()]
    listed = json.loads(outbound("specs", "list", "--format", "json").output)
    assert sorted(op["operationId"] for op in operations) == sorted(
        e["endpoint"] for e in listed if e["service"] == name)


def test_the_export_carries_params_bodies_examples_and_security(in_repo: Path) -> None:
    document = json.loads(outbound("specs", "export-openapi", "huawei-isales").output)
    create = document["paths"]["/rest/isales/v1/openapi/campaigns/{vdnId}/appoint/create"]["post"]
    assert create["parameters"][0] == {
        "name": "vdnId", "in": "path", "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 9999},
        "description": "virtual call center (VDN) ID, an integer from 1 to 9999"}
    body = create["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["calledNo"]["pattern"] == "^[0-9*#]{1,24}$"
    assert body["examples"]["example1"]["value"]["calledNo"] == "66660001"
    assert document["components"]["securitySchemes"]["huaweiC2"]["name"] == "Authorization"


def _changed_spec(tmp_path: Path, *replacements: tuple[str, str],
                  spec: str = "huawei-isales") -> Path:
    text = (ROOT / "specs" / f"{spec}.yaml").read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / f"{spec}-v2.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _diffed(tmp_path: Path, *replacements: tuple[str, str]) -> tuple[int, str]:
    """`specs diff` from the shipped iSales spec to a copy with `replacements`: its exit code
    and output."""
    result = outbound("specs", "diff", "huawei-isales", str(_changed_spec(tmp_path,
                                                                          *replacements)))
    return result.exit_code, result.output


def _both_ways(tmp_path: Path, *replacements: tuple[str, str]) -> list[tuple[int, str]]:
    """`specs diff` from the shipped iSales spec to a copy with `replacements`, and back."""
    changed = str(_changed_spec(tmp_path, *replacements))
    return [(result.exit_code, result.output) for result in (
        outbound("specs", "diff", "huawei-isales", changed),
        outbound("specs", "diff", changed, "huawei-isales"))]


def test_a_spec_does_not_differ_from_itself(in_repo: Path) -> None:
    result = outbound("specs", "diff", "huawei-isales", "specs/huawei-isales.yaml")
    assert (result.exit_code, result.output) == (0, "0 changes, 0 breaking\n")


def test_breaking_changes_are_labelled_and_fail(in_repo: Path, tmp_path: Path) -> None:
    changed = _changed_spec(
        tmp_path,
        ("      remark:\n        in: body\n        description: remarks\n"
         "        schema: {type: string}\n", ""),
        (', "remark": "Remarks"}', "}"),
        ("                taskName: {type: string, description: campaign (task) name}\n", ""),
        ('  "0200022": {meaning: called too fast, retryable: true, throttle: true}',
         '  "0200022": {meaning: called too fast, retryable: true, throttle: true}\n'
         '  "0200023": {meaning: campaign paused}'))
    result = outbound("specs", "diff", "huawei-isales", str(changed))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "ok        result_codes.0200023: added: campaign paused",
        "breaking  appoint.create params.remark: param removed",
        "breaking  appoint.list response $.data[].taskName: field removed",
        "3 changes, 2 breaking"]


def test_additions_alone_do_not_fail(in_repo: Path, tmp_path: Path) -> None:
    changed = _changed_spec(
        tmp_path, ('enum: ["1", "2"]\n          description: "1 = manual',
                   'enum: ["1", "2", "3"]\n          description: "1 = manual'),
        ("                remark: {type: string, description: remarks}\n",
         "                remark: {type: string, description: remarks}\n"
         "                channel: {type: string}\n"))
    result = outbound("specs", "diff", "huawei-isales", str(changed))
    assert result.exit_code == 0, result.output
    assert "ok        appoint.create params.callType: enum values added: ['3']" in result.output
    assert "ok        appoint.list response $.data[].channel: field added" in result.output


def test_a_rule_added_to_a_param_breaks_and_one_removed_does_not(in_repo: Path,
                                                                   tmp_path: Path) -> None:
    capped = ("        description: rows per page\n        schema: {type: integer, minimum: 1}",
              "        description: rows per page\n        schema: {type: integer, minimum: 1, "
              "maximum: 100}")
    added = outbound("specs", "diff", "huawei-isales", str(_changed_spec(tmp_path, capped)))
    assert (added.exit_code, added.output) == (1, (
        "breaking  appoint.list params.limit: maximum 100 added\n1 change, 1 breaking\n"))
    removed = outbound("specs", "diff", str(_changed_spec(tmp_path, capped)), "huawei-isales")
    assert (removed.exit_code, removed.output) == (0, (
        "ok        appoint.list params.limit: maximum 100 removed\n1 change, 0 breaking\n"))


def test_response_rules_break_when_the_vendor_may_send_more(in_repo: Path,
                                                            tmp_path: Path) -> None:
    changed = _changed_spec(
        tmp_path,
        ('                  enum: ["1", "2"]\n                  x-enum-meanings',
         '                  enum: ["1", "2", "3"]\n                  x-enum-meanings'),
        ("              vdnId: {type: integer, minimum: 1, maximum: 9999}",
         "              vdnId: {type: integer, minimum: 1, maximum: 999}"))
    result = outbound("specs", "diff", "huawei-isales", str(changed))
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[-1] == "2 changes, 1 breaking"
    assert ("breaking  appoint.list response $.data[].callType: enum values added: ['3']"
            in result.output)
    assert "ok        " in result.output and "vdnId: maximum 9999 became 999" in result.output


def test_a_type_change_breaks_only_where_a_value_may_no_longer_pass(in_repo: Path,
                                                                      tmp_path: Path) -> None:
    """A param the playbook sends breaks when its type refuses more; a response field the
    playbook reads breaks when the vendor may answer more (an integer is a number too)."""
    def diff(*replacements: tuple[str, str]) -> list[str]:
        changed = _changed_spec(tmp_path, *replacements)
        return outbound("specs", "diff", "huawei-isales", str(changed)).output.splitlines()[:-1]

    vdn = ("schema: {type: integer, minimum: 1, maximum: 9999}\n      calledNo:\n"
           "        in: body\n        description: called number\n        schema: &calledNo")
    assert diff((vdn, vdn.replace("integer", "number"))) == [
        "ok        appoint.list params.vdnId: type integer became number"]
    appoint_time = "appointTime: {type: integer, description: \"reserved time"
    assert diff((appoint_time, appoint_time.replace("integer", "number"))) == [
        "breaking  appoint.list response $.data[].appointTime: type integer became number"]
    called = "calledNo: {type: string, description: called number}"
    assert diff((called, called.replace("type: string", "type: [string, integer]"))) == [
        "breaking  appoint.list response $.data[].calledNo: type string became integer|string"]
    assert diff((called, called.replace("type: string, ", ""))) == [
        "breaking  appoint.list response $.data[].calledNo: type string became any"]


def test_a_response_field_typed_more_narrowly_does_not_break(in_repo: Path,
                                                            tmp_path: Path) -> None:
    called = "calledNo: {type: string, description: called number}"
    untyped = _changed_spec(tmp_path, (called, called.replace("type: string, ", "")))
    result = outbound("specs", "diff", str(untyped), "huawei-isales")
    assert (result.exit_code, result.output) == (0, (
        "ok        appoint.list response $.data[].calledNo: type any became string\n"
        "1 change, 0 breaking\n"))


def test_a_vendor_counting_fewer_codes_as_success_breaks(in_repo: Path, tmp_path: Path) -> None:
    """Playbooks compare result codes (`retry.until`, `when`): one that no longer means
    success breaks them; a code added to success does not."""
    added, removed = _both_ways(tmp_path, ('success: ["0200000"]', 'success: ["0200000", "0"]'))
    assert added == (0, "ok        envelope: success codes added: ['0']\n1 change, 0 breaking\n")
    assert removed == (1, (
        "breaking  envelope: success codes removed: ['0']\n1 change, 1 breaking\n"))


def test_rules_inside_a_param_are_compared_as_the_param_s_own(in_repo: Path,
                                                             tmp_path: Path) -> None:
    accounts = "schema: {type: array, items: {type: string, minLength: 1}}"
    assert _diffed(tmp_path, (accounts, accounts.replace("minLength: 1", "minLength: 3"))) == (1, (
        "breaking  appoint.list params.userAccountList[]: minLength 1 became 3\n"
        "1 change, 1 breaking\n"))


def test_a_field_a_success_answer_no_longer_always_has_breaks(in_repo: Path,
                                                              tmp_path: Path) -> None:
    """The response schemas require some fields only of a success answer (if/then): those
    are the answers playbooks read."""
    assert _diffed(tmp_path, ("then: {required: [totalCount, data]}",
                              "then: {required: [data]}")) == (1, (
        "breaking  appoint.list response $.totalCount: no longer always there\n"
        "1 change, 1 breaking\n"))


def test_changes_the_engine_follows_are_listed_without_breaking(in_repo: Path,
                                                               tmp_path: Path) -> None:
    """How the engine signs, pages, retries and places a param follows the spec: a playbook
    needs no edit, and its author still learns what changed."""
    assert _diffed(
        tmp_path,
        ("timestamp_format: seconds", "timestamp_format: milliseconds"),
        ('"0200022": {meaning: called too fast, retryable: true, throttle: true}',
         '"0200022": {meaning: called too fast, throttle: true}'),
        ("      userAccountList:\n        in: body", "      userAccountList:\n        in: query"),
        ("items: data, total: totalCount}", "items: data}")) == (0, (
        "ok        auth: timestamp_format seconds became milliseconds\n"
        "ok        result_codes.0200022: no longer retryable\n"
        "ok        appoint.list params.userAccountList: now sent in query (was body)\n"
        "ok        appoint.list pagination: total totalCount removed\n"
        "4 changes, 0 breaking\n"))


def test_a_read_that_becomes_a_write_breaks(in_repo: Path, tmp_path: Path) -> None:
    """A write is never sent blindly again, and `outbound check` refuses it: a probe that
    read it fails."""
    became_write, became_read = _both_ways(tmp_path, ("    kind: detail\n", "    kind: action\n"))
    assert became_write == (1, (
        "breaking  callresult.detail: kind detail became action (a write now)\n"
        "1 change, 1 breaking\n"))
    assert became_read == (0, (
        "ok        callresult.detail: kind action became detail\n1 change, 0 breaking\n"))


def test_an_endpoint_s_own_result_codes_are_compared(in_repo: Path, tmp_path: Path) -> None:
    assert _diffed(
        tmp_path,
        ('"0200007": {meaning: the call record ID does not exist}',
         '"0200007": {meaning: the call record ID does not exist, final: true}'),
        ('      "04000003": {}\n    reconcile:', "    reconcile:")) == (0, (
        "ok        appoint.create result_codes.04000003: removed\n"
        "ok        callresult.detail result_codes.0200007: now final\n"
        "2 changes, 0 breaking\n"))


def test_the_changes_come_as_json_for_a_ci_job(in_repo: Path, tmp_path: Path) -> None:
    changed = _changed_spec(tmp_path, ('success: ["0200000"]', 'success: ["0"]'))
    result = outbound("specs", "diff", "huawei-isales", str(changed), "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.output) == {"breaking": 1, "changes": [
        {"breaking": True, "where": "envelope", "what": "success codes removed: ['0200000']"},
        {"breaking": False, "where": "envelope", "what": "success codes added: ['0']"}]}


def test_an_envelope_removed_breaks_and_one_added_does_not(in_repo: Path, tmp_path: Path) -> None:
    """Without its envelope the engine no longer reads the result code: a vendor's error
    answered with HTTP 200 would pass as success."""
    removed, added = _both_ways(tmp_path, (
        'envelope:\n  code: returnCode\n  success: ["0200000"]\n  message: returnDesc\n'
        '  detail: resultDesc\n', ""))
    assert removed == (1, (
        "breaking  envelope: removed: the result code in returnCode is no longer checked (an "
        "error answer would pass as success)\n1 change, 1 breaking\n"))
    assert added == (0, (
        "ok        envelope: added: the result code in returnCode, success ['0200000']\n"
        "1 change, 0 breaking\n"))


def test_a_format_or_const_given_to_what_the_playbook_sends_breaks(in_repo: Path,
                                                                   tmp_path: Path) -> None:
    """Rules a value must match, as a pattern: another one may refuse what passed before."""
    dated = _changed_spec(tmp_path, ("format: date,", "format: date-time,"), spec="crm")
    result = outbound("specs", "diff", "crm", str(dated))
    assert (result.exit_code, result.output) == (1, (
        "breaking  tasks.list params.end_date: format date became date-time\n"
        "breaking  tasks.list params.start_date: format date became date-time\n"
        "2 changes, 2 breaking\n"))
    fixed, freed = _both_ways(tmp_path, ("schema: {type: integer, minimum: 1}",
                                         "schema: {type: integer, minimum: 1, const: 10}"))
    assert fixed == (1, "breaking  appoint.list params.limit: const 10 added\n"
                        "1 change, 1 breaking\n")
    assert freed == (0, "ok        appoint.list params.limit: const 10 removed\n"
                        "1 change, 0 breaking\n")
