"""JSON on the wire, by the standard library: orjson was tried for speed and refused, since it
reads an integer past 64 bits as a float (an id loses digits). NaN and Infinity, which the
standard library reads and writes, are refused both ways: they are no JSON values."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.engine.requests import build_request
from runner.engine.responses import check_response
from runner.errors import ResponseInvalid
from runner.spec import load_spec
from tests.conftest import DATA, outbound

SPEC = load_spec(DATA / "specs" / "testvendor.yaml")


def test_a_body_is_compact_utf8_json() -> None:
    request = build_request(SPEC.endpoint("job.create"), {"name": "张三 \"x\""})
    assert request.content == '{"name":"张三 \\"x\\""}'.encode()


def test_an_answer_with_an_integer_past_64_bits_still_reads() -> None:
    content = b'{"code": "0", "total": 123456789012345678901234567890, "items": []}'
    checked = check_response(SPEC, SPEC.endpoint("items.list"), 200, {}, content, now=0.0)
    assert checked.body["total"] == 123456789012345678901234567890


def test_an_answer_with_nan_is_not_json() -> None:
    """NaN is Python's, not JSON's: read as other JSON readers read it (Hurl's, a browser's),
    not taken in to reach the JSON report as it came."""
    content = b'{"code": "0", "id": "1", "extra": NaN}'
    with pytest.raises(ResponseInvalid) as refused:
        check_response(SPEC, SPEC.endpoint("job.create"), 200, {}, content, now=0.0)
    assert str(refused.value) == ("testvendor.job.create answered HTTP 200 with a body that is "
                                  "not JSON (NaN is no JSON value): "
                                  "'{\"code\": \"0\", \"id\": \"1\", \"extra\": NaN}'")


PLAYBOOK = f"""\
playbook_version: 1
name: weigh
services:
  v: {{spec: {DATA / "specs" / "testvendor.yaml"}, base_url: "http://127.0.0.1:9"}}
inputs:
  weight: {{type: number}}
steps:
  - id: make
    call: v.job.create
    params: {{name: j, weight: "{{{{ inputs.weight }}}}"}}
"""


def test_nan_never_goes_on_the_wire(tmp_path: Path, own_journal: Path) -> None:
    """A number schema takes NaN; no vendor's JSON reader does. Given as --var, it stays the
    text it was and breaks the input's type; read from a vars file (YAML's .nan), it is a
    float the request refuses to carry. Either way, nothing is sent (exit 2)."""
    playbook, values = tmp_path / "weigh.yaml", tmp_path / "vars.yaml"
    playbook.write_text(PLAYBOOK)
    values.write_text("weight: .nan\n")
    given = outbound("run", str(playbook), "--var", "weight=NaN")
    assert (given.exit_code, given.stderr) == (2, "error: input weight: 'NaN' is not of type "
                                                  "'number'\n")
    read = outbound("run", str(playbook), "--vars-file", str(values))
    assert read.exit_code == 2
    assert read.stderr.startswith("error: ") and read.stderr.endswith(
        "testvendor.job.create param weight: NaN and Infinity are no JSON values\n")
