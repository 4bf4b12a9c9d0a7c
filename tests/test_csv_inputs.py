"""`--csv NAME=FILE`: a list input from a CSV file, as ops export customers from a CRM."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import outbound

PLAYBOOK = """\
playbook_version: 1
name: callbacks from a CRM export
services:
  isales: {spec: huawei-isales}
inputs:
  customers:
    type: array
    items:
      type: object
      required: [number]
      properties:
        number: {type: string, pattern: "^[0-9*#]{1,24}$"}
        minutes: {type: integer, minimum: 1}
        name: {type: string}
  numbers: {type: array, items: {type: string}, default: []}
steps:
  - id: reserve
    for_each: "{{ inputs.customers }}"
    as: c
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "1", calledNo: "{{ c.number }}",
             userAccount: ops, appointTime: "{{ now_ms() + c.minutes * 60000 }}"}
    outputs: {number: "{{ c.number }}", name: "{{ c.name | default('-') }}"}
outputs:
  reserved: "{{ steps.reserve.outputs }}"
  numbers: "{{ inputs.numbers }}"
"""


def _export(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "customers.csv"
    path.write_text(text)
    return path


def _run_export(tmp_path: Path, text: str, *args: str
                ) -> tuple[int, dict[str, object] | None, str, Path]:
    """A run given `text` as the customers' CSV export; and the export's path."""
    export = _export(tmp_path, text)
    return (*_run(tmp_path, "--csv", f"customers={export}", *args), export)


def _run(tmp_path: Path, *args: str) -> tuple[int, dict[str, object] | None, str]:
    playbook, report = tmp_path / "p.yaml", tmp_path / "report.json"
    playbook.write_text(PLAYBOOK)
    result = outbound("run", str(playbook), "--sim", "--report-json", str(report), *args)
    document = json.loads(report.read_text()) if report.exists() else None
    return result.exit_code, document, result.stderr


def test_each_row_of_an_excel_export_is_one_item(tmp_path: Path) -> None:
    export = tmp_path / "customers.csv"  # as Excel saves "CSV UTF-8": a BOM, CRLF, quotes
    export.write_bytes("\ufeffnumber,minutes,name\r\n13800000001,30,Li Lei\r\n"
                       '13800000002,45,"Han, Meimei"\r\n\r\n13800000003,60,\r\n'.encode())
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("number\n13900000001\n13900000002\n")
    code, document, _ = _run(tmp_path, "--csv", f"customers={export}",
                             "--csv", f"numbers={numbers}")
    assert code == 0
    assert document is not None and document["outputs"] == {
        "reserved": [{"number": "13800000001", "name": "Li Lei"},
                     {"number": "13800000002", "name": "Han, Meimei"},
                     {"number": "13800000003", "name": "-"}],  # an empty cell is left out
        "numbers": ["13900000001", "13900000002"]}


def test_an_export_split_by_semicolons_or_tabs_is_read_as_such(tmp_path: Path) -> None:
    """Excel saves CSV with semicolons where the comma is the decimal mark; other exports
    are tab-separated."""
    for text in ("number;minutes;name\n13800000001;30;Li Lei\n",
                 "number\tminutes\tname\n13800000001\t30\tLi Lei\n"):
        code, document, stderr, _ = _run_export(tmp_path, text)
        assert code == 0, stderr
        assert document is not None and document["outputs"]["reserved"] == [
            {"number": "13800000001", "name": "Li Lei"}]


def test_rows_that_break_the_schema_are_named_by_line_and_nothing_is_sent(
        tmp_path: Path) -> None:
    code, document, stderr, export = _run_export(
        tmp_path, "number,minutes\n13800000001,30\n138-0002,soon\n")
    assert (code, document) == (2, None)
    assert stderr.splitlines() == [
        f"error: {export}:3:1 (customers[1].minutes): 'soon' is not of type 'integer'",
        f"error: {export}:3:1 (customers[1].number): '138-0002' does not match "
        "'^[0-9*#]{1,24}$'"]


def test_a_row_is_named_by_the_line_it_starts_on(tmp_path: Path) -> None:
    """A quoted cell may span lines (a remark with line breaks); the row is where it starts."""
    code, _, stderr, export = _run_export(
        tmp_path, 'number,name\n13800000001,"Li\nLei"\n"138\n0002",Han\n13800000003,x,y\n')
    assert code == 2
    assert stderr == f"error: {export}:6:1: 3 cells, but the header names 2 columns\n"
    code, _, stderr, export = _run_export(tmp_path, 'number,name\n"138\n0002",Han\n')
    assert stderr == (f"error: {export}:2:1 (customers[0].number): '138\\n0002' does not "
                      "match '^[0-9*#]{1,24}$'\n")


def test_a_file_that_is_not_a_table_of_the_input_is_refused(tmp_path: Path) -> None:
    cases = {"number,minutes\n13800000001,30,9\n": ":2:1: 3 cells, but the header names 2 "
                                                    "columns",
             "number,minutes\n13800000001\n": ":2:1: 1 cell, but the header names 2 columns",
             "number,number\n1,2\n": ":1:1: column 'number' is named twice",
             "Number,minutes\n1,2\n": ":1:1: no column 'number', which every item needs (the "
                                      "columns: Number, minutes); did you mean 'Number'?",
             "": ":1:1: the first row must name every column"}
    for text, said in cases.items():
        export = tmp_path / "customers.csv"
        export.write_text(text)
        code, _, stderr = _run(tmp_path, "--csv", f"customers={export}")
        assert (code, stderr) == (2, f"error: {export}{said}\n")
    export.write_bytes(b"number\n\xff\xfe\n")
    assert _run(tmp_path, "--csv", f"customers={export}")[2] == (
        f"error: --csv: {export} is not UTF-8 text (save it as CSV UTF-8)\n")
    export.write_bytes("number,name\n13800000001,张三\n".encode("gbk"))
    assert _run(tmp_path, "--csv", f"customers={export}")[2] == (
        f"error: --csv: {export} is not UTF-8 text (it reads as GB18030, as Excel saves CSV on "
        "a Chinese Windows: save it as CSV UTF-8)\n")
    two = tmp_path / "two.csv"
    two.write_text("number,minutes\n1,2\n")
    assert _run(tmp_path, "--csv", f"numbers={two}")[2] == (
        f"error: {two}:1:1: the input's items are single values, so the file needs one column,"
        " not 2\n")
    assert _run(tmp_path, "--csv", f"customer={two}")[2] == (
        "error: --csv customer: the playbook has no input 'customer'; did you mean "
        "'customers'?\n")


def test_a_resumed_run_keeps_its_own_rows(tmp_path: Path) -> None:
    code, _, stderr, _ = _run_export(tmp_path, "number,minutes\n13800000001,30\n",
                                     "--resume", "20261122-x")
    assert (code, stderr) == (2, "error: --resume continues with the run's own inputs; --csv "
                                 "cannot change them\n")


def test_runs_show_tells_a_long_export_and_long_outputs_by_their_size(tmp_path: Path) -> None:
    rows = "".join(f"1380000{n:04d},30\n" for n in range(300))
    code, document, _, _ = _run_export(tmp_path, "number,minutes\n" + rows)
    assert code == 0 and document is not None
    run_id = str(document["run_id"])
    shown = outbound("runs", "show", run_id).stdout.splitlines()
    assert 'inputs {"customers": <300 items>, "numbers": []}' in shown
    assert shown[-3:] == [f"outputs: (whole: outbound runs show {run_id} --format json)",
                          "  reserved: <300 items>", "  numbers: []"]
    whole = json.loads(outbound("runs", "show", run_id, "--format", "json").stdout)
    assert len(whole["outputs"]["reserved"]) == 300


def test_the_run_shows_long_outputs_by_their_size_as_runs_show_does(tmp_path: Path) -> None:
    export = _export(tmp_path, "number,minutes\n" + "".join(f"1380000{n:04d},30\n"
                                                            for n in range(300)))
    playbook = tmp_path / "p.yaml"
    playbook.write_text(PLAYBOOK)
    result = outbound("run", str(playbook), "--sim", "--csv", f"customers={export}")
    assert result.exit_code == 0, result.output
    run_id = result.stdout.splitlines()[1].split()[1]
    shown = result.stdout.splitlines()
    at = shown.index(f"outputs: (whole: outbound runs show {run_id} --format json)")
    assert shown[at + 1:at + 3] == ["  reserved: <300 items>", "  numbers: []"]


def test_a_var_over_a_csv_input_wins_and_is_reported_as_itself(tmp_path: Path) -> None:
    code, _, stderr, _ = _run_export(tmp_path, "number,minutes\n13800000001,30\n",
                                     "--var", 'customers=[{"number": "1-2", "minutes": 5}]')
    assert (code, stderr) == (2, "error: input customers[0].number: '1-2' does not match "
                                 "'^[0-9*#]{1,24}$'\n")


def test_an_export_broken_row_after_row_is_reported_in_brief(tmp_path: Path) -> None:
    rows = "".join(f"138-{n},30\n" for n in range(500))
    code, _, stderr, export = _run_export(tmp_path, "number,minutes\n" + rows)
    lines = stderr.splitlines()
    assert code == 2 and len(lines) == 21
    assert lines[0].startswith(f"error: {export}:2:1 (customers[0].number): '138-0' does not ")
    assert lines[-1] == "error: ... and 480 more problems with input 'customers'"
