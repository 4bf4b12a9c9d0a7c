"""JSON on the wire, by the standard library: orjson was tried for speed and refused, since it
reads an integer past 64 bits as a float (an id loses digits) and writes NaN as null."""

from __future__ import annotations

import json

from runner.engine.requests import build_request
from runner.engine.responses import check_response
from runner.spec import load_spec
from tests.conftest import DATA

SPEC = load_spec(DATA / "specs" / "testvendor.yaml")


def test_a_body_is_compact_utf8_json() -> None:
    request = build_request(SPEC.endpoint("job.create"), {"name": "张三 \"x\""})
    assert request.content == '{"name":"张三 \\"x\\""}'.encode()


def test_an_answer_with_an_integer_past_64_bits_still_reads() -> None:
    content = b'{"code": "0", "total": 123456789012345678901234567890, "items": []}'
    checked = check_response(SPEC, SPEC.endpoint("items.list"), 200, {}, content, now=0.0)
    assert checked.body["total"] == 123456789012345678901234567890


def test_an_answer_with_nan_reads_as_the_standard_library_reads_it() -> None:
    content = b'{"code": "0", "id": "1", "extra": NaN}'
    checked = check_response(SPEC, SPEC.endpoint("job.create"), 200, {}, content, now=0.0)
    assert json.dumps(checked.body["extra"]) == "NaN"
    assert checked.values == {"jobId": "1"}
