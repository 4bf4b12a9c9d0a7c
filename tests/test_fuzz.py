"""Hostile input, generated: every outcome is a clean result or a clean error (exit 1 or 2),
never a traceback, never a hang.

The default run is small; a long run:  OUTBOUND_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest
tests/test_fuzz.py
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.clock import SimulatedClock
from runner.engine.launch import execute
from runner.engine.transport import Http1Transport
from runner.playbook import load_playbook
from runner.sim.app import Simulator
from tests.conftest import ROOT, outbound
from tests.test_csv_inputs import PLAYBOOK as CSV_PLAYBOOK
from tests.test_sim import signed
from tests.test_transport import Server, call, fixed, within

EXAMPLES = int(os.environ.get("OUTBOUND_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="OUTBOUND_FUZZ_EXAMPLES"
                not in os.environ,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\u202e\u0000x", "😀" * 50, "{{ 7 * 7 }}", "{% for %}",
                     "9" * 5000, "-1", "1e309", "null", "[]", "{}", "\\u0000", "\ud7ff"]),
    st.builds(lambda n: "x" * n, st.integers(0, 200_000)))
LEAF = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                 st.floats(allow_nan=True, allow_infinity=True), ODD_TEXT)
VALUE = st.recursive(LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*path, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, original: Any) -> Any:
    """`original` with a few of its nodes dropped, replaced, retyped or nested deeper."""
    data = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        kind = draw(st.sampled_from(["drop", "replace", "nest", "deep", "huge"]))
        key = path[-1]
        if kind == "drop":
            del parent[key]
        elif kind == "replace":
            parent[key] = draw(VALUE)
        elif kind == "nest":
            parent[key] = {"x": parent[key]}
        elif kind == "deep":
            deep: Any = parent[key]
            for _ in range(draw(st.integers(20, 120))):  # the YAML dumper recurses
                deep = [deep]
            parent[key] = deep
        else:
            parent[key] = "x" * draw(st.integers(10_000, 300_000))
    return data


def _clean(output: str) -> None:
    assert "Traceback" not in output and "internal error" not in output, output[-2000:]


SPEC = yaml.safe_load((ROOT / "specs" / "huawei-isales.yaml").read_text(encoding="utf-8"))
PLAYBOOK = yaml.safe_load((ROOT / "playbooks" / "crm-callbacks.yaml").read_text(
    encoding="utf-8"))


def _written(tmp_path_factory: pytest.TempPathFactory, data: Any) -> Path:
    path = tmp_path_factory.mktemp("fuzzed") / "file.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@FUZZ
@given(data=mutated(SPEC))
def test_mutated_specs_give_a_clean_verdict(tmp_path_factory: pytest.TempPathFactory,
                                            data: Any) -> None:
    path = _written(tmp_path_factory, data)
    result = outbound("validate", str(path))
    assert result.exit_code in (0, 2)
    _clean(result.output)


@FUZZ
@given(data=mutated(PLAYBOOK))
def test_mutated_playbooks_validate_and_run_cleanly(tmp_path_factory: pytest.TempPathFactory,
                                                    data: Any) -> None:
    path = _written(tmp_path_factory, data)
    checked = outbound("validate", str(path))
    assert checked.exit_code in (0, 2)
    _clean(checked.output)
    ran = outbound("run", str(path), "--sim", "-q")
    assert ran.exit_code in (0, 1, 2)
    _clean(ran.output)


@FUZZ
@given(name=st.sampled_from(["vdn_id", "campaign_id", "phone_book", "start_in_minutes",
                             "nope"]), value=ODD_TEXT)
def test_odd_var_values_are_refused_cleanly(name: str, value: str) -> None:
    if "\x00" in value:
        value = value.replace("\x00", "")  # a command line cannot carry NUL
    result = outbound("run", str(ROOT / "playbooks" / "crm-callbacks.yaml"), "--sim", "-q",
                      "--var", f"{name}={value}")
    assert result.exit_code in (0, 1, 2)
    _clean(result.output)


CELL = st.one_of(st.text(max_size=20), st.sampled_from(
    ["13800000001", "30", "0", "-5", "1e309", '"', '""', "a,b", "\r", "\ufeff", "{{ 7 * 7 }}"]))


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A table of odd cells under a header of the input's columns (and others), or any bytes."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    header = draw(st.lists(st.sampled_from(["number", "minutes", "name", "x", ""]),
                           min_size=1, max_size=4))
    rows = draw(st.lists(st.lists(CELL, min_size=len(header) - 1, max_size=len(header) + 1),
                         max_size=5))
    quoted = draw(st.booleans())  # else cells go in raw: commas, quotes and all

    def cell(text: str) -> str:
        return '"' + text.replace('"', '""') + '"' if quoted else text

    lines = (",".join(cell(text) for text in row) for row in [header, *rows])
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@FUZZ
@given(data=csv_files())
def test_odd_csv_files_are_read_or_refused_cleanly(tmp_path_factory: pytest.TempPathFactory,
                                                   data: bytes) -> None:
    folder = tmp_path_factory.mktemp("csv")
    (folder / "p.yaml").write_text(CSV_PLAYBOOK)
    (folder / "export.csv").write_bytes(data)
    result = outbound("run", str(folder / "p.yaml"), "--sim", "-q", "--journal",
                      str(folder / "j.sqlite"), "--csv", f"customers={folder / 'export.csv'}")
    assert result.exit_code in (0, 1, 2)
    _clean(result.output)


SIM = Simulator()
ROUTES = [(route.endpoint.method, route.endpoint.path) for route in SIM.routes]


@FUZZ
@given(route=st.sampled_from(ROUTES), segment=st.one_of(st.just("8"), CELL),
       query=st.dictionaries(st.sampled_from(["pageNum", "pageSize", "taskStatus", "page",
                                              "limit", "status", "x"]), CELL, max_size=3),
       body=st.one_of(VALUE.map(lambda v: json.dumps(v, default=str).encode()),
                      st.binary(max_size=100)))
def test_the_simulator_answers_any_signed_request_without_a_server_error(
        route: tuple[str, str], segment: str, query: dict[str, str], body: bytes) -> None:
    method, template = route
    path = re.sub(r"\{[^}]+\}", quote(segment, safe="") or "x", template)
    answer = signed(SIM, method, path, urlencode(query), body if method != "GET" else b"")
    assert answer.status < 500, (path, query, body, answer.body)


LIST_EXAMPLE = next(e for e in (
    yaml.safe_load((ROOT / "specs" / "huawei-isales.yaml").read_text(encoding="utf-8"))
    ["endpoints"]["appoint.list"]["examples"]))["response"]["body"]
READER = """\
playbook_version: 1
name: read what comes back
services:
  isales: {spec: huawei-isales, base_url: "http://vendor.test", credentials: {ak: a, sk: b},
           retries: {attempts: 1}}
steps:
  - id: listed
    call: isales.appoint.list
    params: {vdnId: 8, taskId: "1106025109"}
    paginate: {page_size: 10, max_pages: 3}
    outputs: {first: "{{ items[0].appointId if items else 'none' }}"}
"""


def _vendor(body: Any) -> httpx.MockTransport:
    content = body if isinstance(body, bytes) else json.dumps(body, default=str).encode()
    return httpx.MockTransport(lambda request: httpx.Response(200, content=content))


@FUZZ
@given(body=st.one_of(mutated(LIST_EXAMPLE), VALUE,
                      st.binary(max_size=200).map(lambda b: b"\x00" + b)))
def test_mutated_vendor_answers_end_cleanly(tmp_path_factory: pytest.TempPathFactory,
                                            body: Any) -> None:
    path = tmp_path_factory.mktemp("reader") / "p.yaml"
    path.write_text(READER, encoding="utf-8")
    playbook = load_playbook(path)
    result = asyncio.run(execute(playbook, {}, lambda event: None, transport=_vendor(body),
                                 clock=SimulatedClock()))
    assert result.exit_code in (0, 1, 2)
    if result.error is not None:
        assert str(result.error)  # a message, not an exception escaping the engine


def test_the_fuzz_vendor_sees_the_real_request(tmp_path: Path) -> None:
    """The stand-in vendor above answers whatever it is given; this shows the engine really
    went through it with a signed request (it is the vendor, not the engine, that is faked)."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=LIST_EXAMPLE)

    path = tmp_path / "p.yaml"
    path.write_text(READER, encoding="utf-8")
    result = asyncio.run(execute(load_playbook(path), {}, lambda event: None,
                                 transport=httpx.MockTransport(answer), clock=SimulatedClock()))
    assert result.status == "ok"
    assert seen and seen[0].headers["authorization"].startswith("auth-v2/a/")


VALID_ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
                b"\r\n{\"ok\":true}")


@FUZZ
@given(st.one_of(
    st.binary(max_size=300),
    st.builds(lambda cut, noise: VALID_ANSWER[:cut] + noise,
              st.integers(0, len(VALID_ANSWER)), st.binary(max_size=40)),
    st.builds(lambda at, byte: VALID_ANSWER[:at] + bytes([byte]) + VALID_ANSWER[at + 1:],
              st.integers(0, len(VALID_ANSWER) - 1), st.integers(0, 255)),
    st.builds(lambda status: VALID_ANSWER.replace(b"200", status, 1),  # 1xx, 204, 304, 999...
              st.sampled_from([b"100", b"101", b"103", b"204", b"304", b"000"])
              | st.integers(100, 999).map(lambda n: b"%d" % n) | st.binary(min_size=3,
                                                                         max_size=3)),
))
def test_the_live_transport_reads_any_bytes_as_an_answer_or_a_transport_error(
        reply: bytes) -> None:
    """Whatever a vendor's socket sends, then hangs up: an httpx.Response or an
    httpx.TransportError (which the engine reports), never another exception, never a hang."""
    transport = Http1Transport()

    async def test(base: str) -> None:
        try:
            response = await asyncio.wait_for(call(base, transport, read=1.0), 5)
        except httpx.TransportError:
            return
        assert isinstance(response.status_code, int)

    within(Server(fixed(reply), hang_up=True), test)
