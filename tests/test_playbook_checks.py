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
    assert result.output.splitlines() == [_expected(path), "1 problem in 1 of 1 file"]  # once


@pytest.mark.parametrize("path", BAD_PLAYBOOKS, ids=lambda p: p.stem)
def test_run_refuses_each_broken_playbook_with_the_same_message(in_repo: Path,
                                                                path: Path) -> None:
    result = outbound("run", str(path.relative_to(in_repo)), "--sim")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"error: {_expected(path)}"
    assert result.stdout == ""  # the run never started


def _with_isales(folder: Path, rest: str) -> Path:
    """A playbook of `rest` (its inputs, steps, outputs) with one iSales service."""
    playbook = folder / "reads.yaml"
    playbook.write_text("playbook_version: 1\nname: reads\nservices:\n  isales: {spec: "
                        "huawei-isales, base_url: 'http://127.0.0.1:9', credentials: {ak: a, "
                        "sk: b}}\n" + rest, encoding="utf-8")
    return playbook


def test_reads_of_documented_fields_and_of_what_no_schema_describes_pass(
        tmp_path: Path) -> None:
    """The field check holds reads to what documents them, and only there: a field of a
    branch (anyOf), a list's item by index, a key named at run time, a name the template sets
    itself, and an input without properties are all read freely."""
    playbook = _with_isales(tmp_path, """\
inputs:
  field: {type: string, default: calledNo}
  extra: {type: object, default: {}}
steps:
  - id: reserve
    for_each: ["13800000001"]
    as: number
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "1", calledNo: "{{ number }}",
             userAccount: ops, appointTime: 1900000000000}
    outputs: {id: "{{ response.returnObject.id or response.returnObject.appointId }}",
              note: "{{ inputs.extra.anything }}"}
  - id: reservations
    call: isales.appoint.list
    params: {vdnId: 8, taskId: "2201"}
    paginate: all
    outputs:
      first: "{{ response.data[0].calledNo }}"
      by_name: "{{ response.data[0][inputs.field] }}"
  - id: results
    for_each: "{{ steps.reservations.items }}"
    as: r
    call: isales.callresult.detail
    params: {vdnId: 8, callId: "{{ r.appointId }}"}
    outputs:
      status: "{{ response.data.callStatus | string }}"
      own: "{% for r in [1] %}{{ r.a_name_this_template_sets }}{% endfor %}"
outputs:
  made: "{{ steps.reserve.outputs[0].id }}"
  total: "{{ steps.reservations.response.totalCount }}"
  statuses: "{{ steps.results.outputs | map(attribute='status') | list }}"
""")
    result = outbound("validate", str(playbook))
    assert result.output == "1 file checked, all valid\n"
    assert result.exit_code == 0


def test_reads_of_earlier_steps_are_held_to_what_they_have(tmp_path: Path) -> None:
    playbook = _with_isales(tmp_path, """\
steps:
  - id: reservations
    call: isales.appoint.list
    params: {vdnId: 8, taskId: "2201"}
    paginate: all
    outputs: {count: "{{ response.totalCount }}"}
outputs:
  total: "{{ steps.reservations.response.totalcount }}"
  count: "{{ steps.reservations.outputs.cuont }}"
""")
    result = outbound("validate", str(playbook))
    assert result.exit_code == 2
    assert result.output.splitlines()[:2] == [
        f"{playbook}:12:10 (outputs.total): steps.reservations.response.totalcount: "
        "steps.reservations.response has no field 'totalcount'; did you mean 'totalCount'? "
        "(it has: data, resultCode, resultDesc, returnCode, returnDesc, totalCount; if the "
        "vendor sends it, add it to the spec's response schema)",
        f"{playbook}:13:10 (outputs.count): steps.reservations.outputs.cuont: "
        "steps.reservations.outputs has no field 'cuont'; did you mean 'count'? (it has: "
        "count)"]


@pytest.mark.parametrize(("text", "where", "held"), [
    ("", "", "is empty"), ("# steps to come\n", "", "is empty"),
    ("- reserve\n- confirm\n", ":1:1", "holds a list"),
    ("reserve callbacks\n", ":1:1", "holds only the text 'reserve callbacks'")])
def test_a_playbook_file_that_is_no_mapping_says_what_one_holds(tmp_path: Path, text: str,
                                                                where: str, held: str) -> None:
    path = tmp_path / "campaign.yaml"
    path.write_text(text, encoding="utf-8")
    result = outbound("run", str(path), "--sim")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}{where}: the file {held}; a playbook is a mapping with playbook_version, "
        "name, services and steps (schemas/playbook.schema.json)\n")


def test_an_empty_fault_plan_says_what_one_holds(in_repo: Path, tmp_path: Path) -> None:
    plan = tmp_path / "faults.yaml"
    plan.write_text("", encoding="utf-8")
    result = outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "--sim-faults",
                      str(plan))
    assert result.exit_code == 2
    assert result.stderr == (f"error: {plan}: the file is empty; a fault plan is a mapping with "
                             "faults (schemas/faults.schema.json)\n")
