"""The journal and --resume against a served simulator: nothing lost, nothing created twice."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import pty
import random
import re
import select
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from contextlib import closing
from itertools import count, pairwise
from pathlib import Path
from typing import Any

import pytest

from runner.engine.launch import execute
from runner.engine.services import Exchange
from runner.journal import Journal
from runner.playbook import load_playbook
from runner.validation import file_schema
from runner.window import EXIT_PAUSED
from tests.conftest import JUNIT_XSD, ROOT, isales_playbook, outbound, use_simulator

PLAYBOOK = "tests/data/playbooks/reserve-many.yaml"
CREATE = "huawei-isales.appoint.create"
PREFIXES = (f"13{n:05d}" for n in count(10))
PAUSE = 1.5  # seconds between a paused run and its resume


@pytest.fixture
def live(served: str, monkeypatch: pytest.MonkeyPatch, in_repo: Path) -> str:
    use_simulator(monkeypatch, served)
    return served


def _control(base: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(base + path, data=data, method=method),
                                timeout=5) as answer:
        return json.load(answer)


def _creates(base: str) -> int:
    return int(_control(base, "GET", "/_sim/state")["calls"].get(CREATE, 0))


def _faults(base: str, *faults: dict[str, Any]) -> None:
    _control(base, "PUT", "/_sim/faults", {"seed": 3, "faults": list(faults)})


def _run_id(output: str) -> str:
    return next(line.split()[1] for line in output.splitlines() if line.startswith("run "))


def _started(*arguments: str, stderr: int | None = None) -> tuple[subprocess.Popen[str], str]:
    """`outbound run ARGUMENTS` in a process of its own, once it has printed its run id."""
    process = subprocess.Popen([sys.executable, "-m", "runner", "run", *arguments], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=stderr, text=True)
    assert process.stdout is not None
    for line in process.stdout:  # `run ID`, or `resuming run ID`
        if line.startswith(("run ", "resuming run ")):
            return process, line.split()[-1]
    raise AssertionError(f"it ended without starting a run (exit {process.wait()})")


def _kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL, as a lost machine or the OOM killer ends a run; its pipes closed after."""
    with process:  # waits for it
        process.send_signal(signal.SIGKILL)


def _mine(numbers: list[str], prefix: str) -> list[str]:
    return [n for n in numbers if n.startswith(prefix)]


@pytest.mark.parametrize(("fault", "made_before"), [("reset_after", 1), ("reset_before", 0)])
def test_a_create_with_a_lost_answer_is_reconciled_not_resent(
        live: str, tmp_path: Path, fault: str, made_before: int) -> None:
    prefix = next(PREFIXES)
    _faults(live, {"kind": fault, "on": CREATE, "times": 1})
    before = _creates(live)
    first = outbound("run", PLAYBOOK, "--var", "count=6", "--var", f"prefix={prefix}")
    assert first.exit_code == 1
    assert "the outcome is unknown" in first.stderr
    made = _creates(live) - before
    run_id = _run_id(first.stdout)
    _faults(live)
    report = tmp_path / "report.json"
    second = outbound("run", PLAYBOOK, "--resume", run_id, "--report-json", str(report))
    assert second.exit_code == 0, second.output
    happened = "shows it happened" if made_before else \
        "shows it did not happen: sending it again"
    assert f"huawei-isales.appoint.create had no known outcome; appoint.list {happened}" \
        in second.stdout
    assert _creates(live) - before == 6  # one reservation per number, however it went
    numbers = _mine(json.loads(report.read_text())["outputs"]["numbers"], prefix)
    assert sorted(numbers) == [f"{prefix}{n:04d}" for n in range(6)]
    assert made >= made_before
    # the journal now knows what became of the lost answer: made (ok), or not made (failed)
    # and sent again; no call is left without an outcome
    shown = json.loads(outbound("runs", "show", run_id, "--format", "json").stdout)
    assert set(shown["calls"]) == ({"ok"} if made_before else {"ok", "failed"})
    assert shown["calls_tried_again"] == ({} if made_before else {"failed": 1})


def test_resuming_a_finished_run_does_nothing(live: str) -> None:
    done = outbound("run", PLAYBOOK, "--var", "count=2", "--var", f"prefix={next(PREFIXES)}")
    assert done.exit_code == 0, done.output
    before = _creates(live)
    again = outbound("run", PLAYBOOK, "--resume", _run_id(done.stdout))
    assert again.exit_code == 0
    assert again.stdout == f"run {_run_id(done.stdout)} already finished; nothing to do\n"
    assert _creates(live) == before


def test_max_creates_pauses_a_canary_and_resume_makes_the_rest_once(live: str,
                                                                    tmp_path: Path) -> None:
    prefix, report = next(PREFIXES), tmp_path / "report.json"
    inputs = ["--var", "count=10", "--var", f"prefix={prefix}"]
    before = _creates(live)
    canary = outbound("run", PLAYBOOK, *inputs, "--max-creates", "3", "--report-json",
                      str(report))
    assert canary.exit_code == EXIT_PAUSED, canary.output
    assert _creates(live) - before == 3  # concurrency 4: the fourth never started
    assert "--max-creates 3 reached: no new create is started" in canary.stderr
    assert json.loads(report.read_text())["status"] == "paused"
    more = outbound("run", PLAYBOOK, *inputs, "--resume", "latest", "--max-creates", "5")
    assert more.exit_code == EXIT_PAUSED and _creates(live) - before == 8
    rest = outbound("run", PLAYBOOK, *inputs, "--resume", "latest", "--report-json",
                    str(report))
    assert rest.exit_code == 0, rest.output
    assert _creates(live) - before == 10
    listed = json.loads(report.read_text())["outputs"]["numbers"]
    assert sorted(n for n in listed if n.startswith(prefix)) == [
        f"{prefix}{n:04d}" for n in range(10)]  # each number reserved once


def test_a_sim_canary_resumes_on_the_world_it_left(in_repo: Path, tmp_path: Path,
                                                   own_journal: Path) -> None:
    """With --sim the simulator lives in the run's process; the journal keeps its world, so
    the resume reads back the reservations the canary made, and makes none of them again."""
    report = tmp_path / "report.json"
    canary = outbound("run", PLAYBOOK, "--sim", "--var", "count=10", "--max-creates", "3")
    assert canary.exit_code == EXIT_PAUSED, canary.output
    with closing(sqlite3.connect(own_journal)) as db:
        (kept,), = db.execute("SELECT COUNT(*) FROM sim_worlds").fetchall()
    assert kept == 1
    rest = outbound("run", PLAYBOOK, "--sim", "--resume", _run_id(canary.stdout),
                    "--report-json", str(report))
    assert rest.exit_code == 0, rest.output
    assert "warning" not in rest.stderr
    document = json.loads(report.read_text())
    assert document["resumed"] and (document["steps"][0]["calls"],
                                    document["steps"][0]["succeeded"]) == (7, 10)  # this job's
    outputs = document["outputs"]
    assert outputs["reserved"] == 10
    assert sorted(n for n in outputs["numbers"] if n.startswith("1360000")) == [
        f"1360000{n:04d}" for n in range(10)]  # the canary's three, and seven more
    with closing(sqlite3.connect(own_journal)) as db:  # a finished run needs none
        assert db.execute("SELECT COUNT(*) FROM sim_worlds").fetchall() == [(0,)]
    shown = json.loads(outbound("runs", "show", "latest", "--format", "json").stdout)
    assert [(s["step"], s["calls"], s["succeeded"]) for s in shown["steps"]] == [
        ("reserve", 10, 10), ("listed", 1, 1)]  # the whole run's, not the last attempt's


def test_a_resumed_run_took_its_attempts_time_not_the_pause_between_them(
        in_repo: Path, tmp_path: Path, own_journal: Path) -> None:
    """A campaign paused at night ran for what its attempts took: `runs list`, `runs show` and
    the report of the finished run say so, and `runs show` tells the span apart."""
    inputs, report = ["--sim", "--var", "count=4"], tmp_path / "report.json"
    canary = outbound("run", PLAYBOOK, *inputs, "--max-creates", "2")
    assert canary.exit_code == EXIT_PAUSED, canary.output
    time.sleep(PAUSE)  # the night between two scheduled jobs
    assert outbound("run", PLAYBOOK, *inputs, "--resume", "latest").exit_code == 0
    finished = outbound("run", PLAYBOOK, *inputs, "--resume", "latest", "--report-json",
                        str(report))  # drawn from the journal
    run_id = _run_id(canary.stdout)
    shown = outbound("runs", "show", run_id).stdout
    took, span = map(float, re.search(
        r"took ([\d.]+)s, resumed 1x \(([\d.]+)s from its start to its end\)", shown).groups())
    assert took <= span - PAUSE + 0.1  # each shown to a tenth of a second
    listed, = json.loads(outbound("runs", "list", "--format", "json").stdout)
    assert f"{listed['ran_s']:.1f}" == f"{took:.1f}"
    assert finished.exit_code == 0 and "nothing to do" in finished.stdout
    assert json.loads(report.read_text())["duration_s"] == round(listed["ran_s"], 4)


FOLLOW_UP = isales_playbook("Reserve, then book a follow-up for each reservation", """\
steps:
  - id: reserve
    for_each: ["13710000000", "13710000001", "13710000002"]
    as: number
    concurrency: 1
    max_failures: 1
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "2", calledNo: "{{ number }}",
             userAccount: ops, appointTime: "{{ now_ms() + 600000 }}"}
    outputs: {number: "{{ number }}"}
  - id: follow_up
    for_each: "{{ steps.reserve.outputs }}"
    as: reserved
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2202", callType: "2", calledNo: "{{ reserved.number }}",
             userAccount: ops, appointTime: "{{ now_ms() + 7200000 }}"}
    outputs: {number: "{{ reserved.number }}"}
  - id: booked
    call: isales.appoint.list
    params: {vdnId: 8, taskId: "2202"}
    paginate: {page_size: 100}
outputs:
  followed_up: "{{ steps.follow_up.outputs | map(attribute='number') | list }}"
  booked: "{{ steps.booked.items | map(attribute='calledNo') | sort | list }}"
""")


def test_an_item_made_on_resume_moves_no_later_steps_item_from_its_place(
        in_repo: Path, tmp_path: Path) -> None:
    """The first reservation failed (within max_failures), so the follow-ups ran for the
    other two. On resume it is made, and comes last in the reservations' outputs rather than
    first: the follow-ups already made keep their places, none is made twice, the missing one
    is made, and the list read after them is read again, as what it shows has changed."""
    playbook, faults, report = tmp_path / "follow-up.yaml", tmp_path / "f.yaml", tmp_path / "r.json"
    playbook.write_text(FOLLOW_UP)
    faults.write_text(f"seed: 1\nfaults: [{{kind: vendor_code, code: '0200001', times: 1, "
                      f"on: {CREATE}}}]\n")
    first = outbound("run", str(playbook), "--sim", "--sim-faults", str(faults))
    assert first.exit_code == 1, first.output
    assert "1 item failed within max_failures" in first.stderr
    rest = outbound("run", str(playbook), "--sim", "--resume", _run_id(first.stdout),
                    "--report-json", str(report))
    assert rest.exit_code == 0, rest.output
    numbers = [f"1371000000{n}" for n in range(3)]
    outputs = json.loads(report.read_text())["outputs"]
    assert outputs["followed_up"] == [*numbers[1:], numbers[0]]  # the one made now, last
    assert outputs["booked"] == numbers  # each follow-up booked once
    assert "follow_up  1 call, 3 ok" in rest.stdout and "booked  1 call" in rest.stdout


def test_a_list_a_later_step_went_through_is_not_read_again_on_resume(
        in_repo: Path, tmp_path: Path) -> None:
    """The follow-ups go through the reservations as a list read them. Read again on resume,
    the list could show them in another order, and the follow-ups are matched to the journal
    by place: it stands as read, so none is made twice (the reservation made on resume gets
    no follow-up, as the list the follow-ups went through never showed it)."""
    playbook, faults = tmp_path / "follow-listed.yaml", tmp_path / "f.yaml"
    playbook.write_text(FOLLOW_UP.replace("1371", "1373").replace(
        '  - id: follow_up\n    for_each: "{{ steps.reserve.outputs }}"\n    as: reserved\n',
        '  - id: listed\n    call: isales.appoint.list\n    params: {vdnId: 8, taskId: "2201"}\n'
        '    paginate: {page_size: 100}\n  - id: follow_up\n'
        '    for_each: "{{ steps.listed.items | map(attribute=\'calledNo\') | list }}"\n'
        '    as: number\n').replace("{{ reserved.number }}", "{{ number }}"))
    faults.write_text(f"seed: 1\nfaults: [{{kind: vendor_code, code: '0200001', times: 1, "
                      f"on: {CREATE}}}]\n")
    first = outbound("run", str(playbook), "--sim", "--sim-faults", str(faults))
    assert first.exit_code == 1, first.output
    rest = outbound("run", str(playbook), "--sim", "--resume", _run_id(first.stdout))
    assert rest.exit_code == 0, rest.output
    assert "listed  0 calls" in rest.stdout and "booked  1 call" in rest.stdout
    outputs = json.loads(outbound("runs", "show", "latest", "--format", "json").stdout)[
        "outputs"]
    assert outputs["booked"] == ["13730000001", "13730000002"]  # each once


def test_items_made_over_several_resumes_keep_the_places_each_attempt_gave_them(
        live: str, tmp_path: Path) -> None:
    """Two reservations fail, then on the first resume one of them again: the follow-ups go
    through the reservations made by the first attempt, then those of the second, then the
    third's, so each resume finds every follow-up where the attempt before left it."""
    numbers = [f"1372000000{n}" for n in range(4)]
    playbook = tmp_path / "follow-up.yaml"
    playbook.write_text(FOLLOW_UP.replace('["13710000000", "13710000001", "13710000002"]',
                                          json.dumps(numbers)).replace(
        "max_failures: 1", "max_failures: 2"))
    refused = {"kind": "vendor_code", "code": "0200001", "on": CREATE}
    try:
        _faults(live, {**refused, "times": 2})  # reservations 0 and 1
        first = outbound("run", str(playbook))
        _faults(live, {**refused, "times": 1})  # reservation 0 again
        second = outbound("run", str(playbook), "--resume", _run_id(first.stdout))
    finally:
        _faults(live)
    third = outbound("run", str(playbook), "--resume", _run_id(first.stdout))
    assert [first.exit_code, second.exit_code, third.exit_code] == [1, 1, 0], third.output
    outputs = json.loads(outbound("runs", "show", "latest", "--format", "json").stdout)[
        "outputs"]
    assert outputs["followed_up"] == [numbers[2], numbers[3], numbers[1], numbers[0]]
    assert outputs["booked"].count(numbers[0]) == 1
    assert sorted(n for n in outputs["booked"] if n in numbers) == numbers  # each once


LATER = isales_playbook("Reserve after a long wait", """\
steps:
  - id: later
    wait: 3h
  - id: reserve
    for_each: ["13700000001", "13700000002"]
    as: number
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "2", calledNo: "{{ number }}",
             userAccount: ops, appointTime: "{{ now_ms() + 600000 }}"}
    outputs: {id: "{{ values.appointId }}"}
  - id: results
    for_each: "{{ steps.reserve.outputs }}"
    as: reservation
    call: isales.callresult.detail
    params: {vdnId: 8, callId: "{{ reservation.id }}"}
    retry: {until: "{{ response.data.callStatus | string in ['5', '6'] }}", attempts: 20,
            delay: 1m}
""")


def test_a_sim_resume_goes_on_from_the_time_its_world_was_left(
        in_repo: Path, tmp_path: Path, own_journal: Path) -> None:
    """Simulated time never runs back: a canary that waited three hours (at once) and made a
    reservation ten minutes after that has its call twenty minutes of polling away, on resume
    as when it was made, not three hours."""
    playbook = tmp_path / "later.yaml"
    playbook.write_text(LATER)
    canary = outbound("run", str(playbook), "--sim", "--max-creates", "1")
    assert canary.exit_code == EXIT_PAUSED, canary.output
    rest = outbound("run", str(playbook), "--sim", "--resume", _run_id(canary.stdout))
    assert rest.exit_code == 0, rest.output
    assert "warning" not in rest.stderr


def test_a_sim_resume_goes_on_where_its_fault_plan_was(in_repo: Path, tmp_path: Path,
                                                        own_journal: Path) -> None:
    """A fault that may come up once came up in the first attempt: the resume does not meet
    it again (it would, on every resume, if the plan began anew each time)."""
    once = tmp_path / "once.yaml"
    once.write_text(f"faults: [{{kind: reset_after, times: 1, on: {CREATE}}}]\n")
    first = outbound("run", PLAYBOOK, "--sim", "--sim-faults", str(once), "--var", "count=8")
    assert first.exit_code == 1, first.output
    assert "the connection failed (the simulator dropped the connection)" in first.stderr
    rest = outbound("run", PLAYBOOK, "--sim", "--sim-faults", str(once), "--resume",
                    _run_id(first.stdout))
    assert rest.exit_code == 0, rest.output
    assert "reserved: 8" in rest.stdout


def test_a_sim_canary_resumed_live_keeps_no_world_once_finished(live: str,
                                                                own_journal: Path) -> None:
    canary = outbound("run", PLAYBOOK, "--sim", "--var", "count=4", "--var",
                      f"prefix={next(PREFIXES)}", "--max-creates", "2")
    assert canary.exit_code == EXIT_PAUSED, canary.output
    rest = outbound("run", PLAYBOOK, "--resume", _run_id(canary.stdout))  # on the served one
    assert rest.exit_code == 0, rest.output
    with closing(sqlite3.connect(own_journal)) as db:
        assert db.execute("SELECT COUNT(*) FROM sim_worlds").fetchall() == [(0,)]


@pytest.mark.parametrize("world", ['{"world_version": 1, "vendors": {"huawei-isales": {}}}',
                                   '{"world_version": 99, "vendors": {}}', "[]", "{",
                                   '{"world_version": 1, "now": 1e300, "vendors": {}}',
                                   '{"world_version": 1, "now": "soon", "vendors": {}}'])
def test_a_sim_world_that_cannot_be_read_is_left_for_an_empty_one(
        in_repo: Path, own_journal: Path, world: str) -> None:
    canary = outbound("run", PLAYBOOK, "--sim", "--var", "count=4", "--max-creates", "2")
    assert canary.exit_code == EXIT_PAUSED, canary.output
    run_id = _run_id(canary.stdout)
    with closing(sqlite3.connect(own_journal)) as db, db:
        db.execute("UPDATE sim_worlds SET world = ?", (world,))
    _resumes_on_an_empty_simulator(run_id, "the journal holds no usable simulator world of "
                                           f"run {run_id}")


def test_a_killed_sim_run_resumes_on_an_empty_simulator_and_says_so(
        in_repo: Path, tmp_path: Path) -> None:
    """A kill takes the embedded simulator along: what that attempt made is gone with it."""
    slow = tmp_path / "slow.yaml"
    slow.write_text(f"faults: [{{kind: latency, seconds: 0.01, on: {CREATE}}}]\n")
    process, run_id = _started(PLAYBOOK, "--sim", "--sim-faults", str(slow), "--var",
                               "count=400")
    time.sleep(0.3)
    _kill(process)
    _resumes_on_an_empty_simulator(run_id, f"run {run_id}'s last attempt was killed, and its "
                                           "simulator with it")


def _resumes_on_an_empty_simulator(run_id: str, why: str) -> None:
    again = outbound("run", PLAYBOOK, "--sim", "--resume", run_id)
    assert again.exit_code == 0, again.output
    assert again.stderr.splitlines()[0] == (
        f"warning: --sim: {why}: this one goes on from an empty one, so a step that reads back "
        "what the run made may not find it")


def test_resume_refuses_new_inputs_and_unknown_runs(live: str) -> None:
    _faults(live, {"kind": "vendor_code", "code": "04000003", "on": CREATE, "times": 1})
    failed = outbound("run", PLAYBOOK, "--var", "count=2", "--var", f"prefix={next(PREFIXES)}")
    _faults(live)
    assert failed.exit_code == 1
    result = outbound("run", PLAYBOOK, "--resume", _run_id(failed.stdout), "--var", "count=3")
    assert result.exit_code == 2
    assert "--resume continues with the run's own inputs; --var cannot change count" in (
        result.stderr)
    result = outbound("run", PLAYBOOK, "--resume", "nope")
    assert result.exit_code == 2
    assert "has no run 'nope'" in result.stderr


def test_an_input_journalled_masked_is_asked_for_again(live: str, tmp_path: Path) -> None:
    playbook = tmp_path / "with-token.yaml"
    playbook.write_text((ROOT / PLAYBOOK).read_text(encoding="utf-8").replace(
        "inputs:\n", "inputs:\n  token: {type: string, minLength: 8}\n").replace(
        "userAccount: ops", "userAccount: \"{{ inputs.token[:4] }}\""), encoding="utf-8")
    prefix = next(PREFIXES)
    _faults(live, {"kind": "vendor_code", "code": "04000003", "on": CREATE, "times": 1})
    failed = outbound("run", str(playbook), "--var", "count=3", "--var", f"prefix={prefix}",
                      "--var", "token=agent007x")
    _faults(live)
    assert failed.exit_code == 1, failed.output
    run_id = _run_id(failed.stdout)
    shown = json.loads(outbound("runs", "show", run_id, "--format", "json").output)
    assert shown["inputs"]["token"] == "[redacted]"  # a sensitive name: never written down

    asked = outbound("run", str(playbook), "--resume", run_id)
    assert asked.exit_code == 2
    assert ("the journal holds input token masked (it contained a secret); give it again "
            "to resume (--var NAME=VALUE for token)") in asked.stderr
    report = tmp_path / "report.json"
    resumed = outbound("run", str(playbook), "--resume", run_id, "--var", "token=agent007x",
                       "--report-json", str(report))
    assert resumed.exit_code == 0, resumed.output
    numbers = _mine(json.loads(report.read_text())["outputs"]["numbers"], prefix)
    assert sorted(numbers) == [f"{prefix}{n:04d}" for n in range(3)]
    assert "agent007x" not in report.read_text()


def test_runs_list_and_show_tell_what_happened(live: str) -> None:
    prefix = next(PREFIXES)
    _faults(live, {"kind": "vendor_code", "code": "04000003", "on": CREATE, "times": 1})
    failed = outbound("run", PLAYBOOK, "--var", "count=3", "--var", f"prefix={prefix}")
    _faults(live)
    run_id = _run_id(failed.stdout)
    listed = json.loads(outbound("runs", "list", "--format", "json").output)
    mine = next(r for r in listed if r["run_id"] == run_id)
    assert (mine["status"], mine["exit_code"], mine["failed_items"]) == ("failed", 1, 1)
    shown = outbound("runs", "show", run_id)
    assert shown.exit_code == 0
    assert "answered 04000003: the reserved number is blocklisted" in shown.output
    assert shown.output.splitlines()[0] == f"run {run_id}  failed (exit 1)"


def test_a_run_refused_for_a_secret_not_set_is_not_journaled(
        live: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused before it sends anything, as a --var out of range is: a resume leaves the run
    as the attempt before left it (for the next job to resume), and a fresh run leaves none."""
    prefix = next(PREFIXES)
    _faults(live, {"kind": "vendor_code", "code": "04000003", "on": CREATE, "times": 1})
    failed = outbound("run", PLAYBOOK, "--var", "count=3", "--var", f"prefix={prefix}")
    _faults(live)
    run_id = _run_id(failed.stdout)

    def journaled() -> list[dict[str, Any]]:
        return json.loads(outbound("runs", "list", "--format", "json").stdout)

    before = journaled()
    monkeypatch.delenv("ISALES_SK")
    for refused in (outbound("run", PLAYBOOK, "--resume", run_id),
                    outbound("run", PLAYBOOK, "--var", f"prefix={next(PREFIXES)}")):
        assert refused.exit_code == 2
        assert "secret ISALES_SK is not set" in refused.stderr
    assert journaled() == before  # the failed run still failed (exit 1), not resumed
    assert [(run["status"], run["exit_code"], run["resumed"]) for run in before] == [
        ("failed", 1, 0)]


def test_a_create_still_on_its_way_when_the_run_was_killed_is_not_made_again(
        live: str, own_journal: Path, tmp_path: Path) -> None:
    """The vendor is still making the create when the runner dies; the resume comes at once.
    Looked up before the vendor is done, the create would seem not made and be sent again."""
    prefix = next(PREFIXES)
    _faults(live, {"kind": "latency", "seconds": 1.5, "on": CREATE})  # a slow vendor
    before = _creates(live)
    process, run_id = _started(PLAYBOOK, "--var", "count=1", "--var", f"prefix={prefix}")
    log = own_journal.with_name(own_journal.name + "-intents")
    deadline = time.monotonic() + 30
    while not (log.exists() and log.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.01)  # until the create's intent is written: it is about to be sent
    time.sleep(0.2)  # and it has reached the vendor, which takes 1.5 s to answer
    _kill(process)
    report = tmp_path / "report.json"
    resumed = outbound("run", PLAYBOOK, "--resume", run_id, "--report-json", str(report))
    assert resumed.exit_code == 0, resumed.output
    assert "may still be on its way to the vendor; it is looked up after the step's other " \
        "items" in resumed.output
    assert "appoint.list shows it happened" in resumed.output
    _faults(live)
    assert _creates(live) - before == 1
    assert _mine(json.loads(report.read_text())["outputs"]["numbers"], prefix) == [
        f"{prefix}0000"]


def test_writes_still_on_their_way_do_not_hold_up_the_other_items(
        live: str, own_journal: Path) -> None:
    """Every one of the step's four in flight ended unknown, as a kill leaves them: resumed at
    once, they are looked up after the items not yet made, which do not wait for them."""
    prefix = next(PREFIXES)
    _faults(live, {"kind": "reset_after", "on": CREATE, "times": 4})  # made, answer lost
    before = _creates(live)
    first = outbound("run", PLAYBOOK, "--var", "count=8", "--var", f"prefix={prefix}")
    assert first.exit_code == 1
    _faults(live)
    with closing(sqlite3.connect(own_journal)) as db:
        (resumed_from,), = db.execute("SELECT MAX(id) FROM calls")
    resumed = outbound("run", PLAYBOOK, "--resume", _run_id(first.stdout))
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout.count("may still be on its way to the vendor; it is looked up after "
                                "the step's other items, once its total timeout (3s) has "
                                "passed") == 4
    assert "  warn  reserve: and 1 more iteration (3): an earlier " in resumed.stdout  # alike
    assert "waiting until" not in resumed.stdout  # they said so as they were put aside
    with closing(sqlite3.connect(own_journal)) as db:
        sent = db.execute("SELECT endpoint, iteration FROM calls WHERE id > ? AND step = "
                          "'reserve' ORDER BY id", (resumed_from,)).fetchall()
    assert sorted(sent[:4]) == [(CREATE, n) for n in range(4, 8)]  # first, the items not made
    assert {endpoint for endpoint, _ in sent[4:]} == {"huawei-isales.appoint.list"}
    assert _creates(live) - before == 8


WHILE_GO = isales_playbook("reserve while GO says so", """\
    timeout: {total: 2s}
inputs:
  prefix: {type: string}
steps:
  - id: reserve
    for_each: "{{ range(2) | list }}"
    as: n
    when: "{{ env.GO == 'yes' }}"
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "1", calledNo: "{{ inputs.prefix ~ n }}",
             userAccount: ops, appointTime: "{{ now_ms() + 3600000 }}"}
    outputs: {id: "{{ values.appointId }}"}
outputs:
  made: "{{ steps.reserve.outputs | length }}"
""")


@pytest.mark.parametrize(("fault", "made", "found", "then"), [
    ({"kind": "reset_after"}, 1, "happened", ""),  # made, answer lost
    ({"kind": "http_error", "status": 503}, 0, "did not happen",  # a gateway's: not made
     ": its when is now false, so not sent again")])
def test_a_write_of_unknown_outcome_is_looked_up_though_its_when_is_now_false(
        live: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_journal: Path,
        fault: dict[str, Any], made: int, found: str, then: str) -> None:
    """`when` says whether to send; what an earlier attempt sent may have been made, and
    counts if it was: skipped unlooked, a reservation made would be lost to the run."""
    playbook = tmp_path / "p.yaml"
    playbook.write_text(WHILE_GO)
    prefix = next(PREFIXES)
    monkeypatch.setenv("GO", "yes")
    _faults(live, {**fault, "on": CREATE, "times": 1})
    before = _creates(live)
    first = outbound("run", str(playbook), "--var", f"prefix={prefix}")
    assert first.exit_code == 1
    _faults(live)
    monkeypatch.setenv("GO", "no")  # the campaign called off, say
    resumed = outbound("run", str(playbook), "--resume", _run_id(first.stdout))
    assert resumed.exit_code == 0, resumed.output
    assert (f"iteration 0: an earlier {CREATE} had no known outcome; appoint.list shows it "
            f"{found}{then}\n") in resumed.stdout
    assert f"made: {made}" in resumed.stdout  # the other item not sent
    assert _creates(live) - before == made
    with closing(sqlite3.connect(own_journal)) as db:  # what the lookup found, and no more
        assert db.execute("SELECT error FROM calls WHERE error LIKE 'reconciled%'").fetchall() \
            == [(f"reconciled by --resume: appoint.list shows it {found}",)]
    shown = json.loads(outbound("runs", "show", _run_id(first.stdout), "--format",
                                "json").stdout)
    assert shown["unknown_writes"] == []


def test_a_write_found_not_made_is_skipped_though_its_params_no_longer_render(
        live: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lookup goes by the request the journal holds: the params are not rendered again
    when nothing in it was masked, so a field the `when` now guards against (gone from the
    environment, as from an item) does not fail the item before `when` is asked."""
    playbook = tmp_path / "p.yaml"
    playbook.write_text(WHILE_GO.replace('"{{ inputs.prefix ~ n }}"',
                                         '"{{ inputs.prefix ~ env.SUFFIX ~ n }}"'))
    prefix = next(PREFIXES)
    monkeypatch.setenv("GO", "yes")
    monkeypatch.setenv("SUFFIX", "9")
    _faults(live, {"kind": "http_error", "status": 503, "on": CREATE, "times": 1})
    before = _creates(live)
    first = outbound("run", str(playbook), "--var", f"prefix={prefix}")
    assert first.exit_code == 1
    _faults(live)
    monkeypatch.setenv("GO", "no")
    monkeypatch.delenv("SUFFIX")
    resumed = outbound("run", str(playbook), "--resume", _run_id(first.stdout))
    assert resumed.exit_code == 0, resumed.output
    assert "shows it did not happen: its when is now false, so not sent again" in resumed.stdout
    assert _creates(live) == before


def test_what_a_lookup_found_stands_for_the_write_on_the_next_resume(
        live: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_journal: Path) -> None:
    """The lookup found the create made, and the item failed after it (an expectation): the
    next resume goes by what the lookup found, as by an answer, and asks the vendor nothing."""
    playbook = tmp_path / "p.yaml"
    playbook.write_text(WHILE_GO.replace("    outputs: {id:",
                                         "    expect: [\"{{ n != 0 or env.FINE == 'yes' }}\"]\n"
                                         "    outputs: {id:"))
    prefix = next(PREFIXES)
    monkeypatch.setenv("GO", "yes")
    monkeypatch.setenv("FINE", "no")
    _faults(live, {"kind": "reset_after", "on": CREATE, "times": 1})  # made, answer lost
    before = _creates(live)
    first = outbound("run", str(playbook), "--var", f"prefix={prefix}")
    assert first.exit_code == 1
    _faults(live)
    run_id = _run_id(first.stdout)
    looked = outbound("run", str(playbook), "--resume", run_id)
    assert looked.exit_code == 1 and "appoint.list shows it happened" in looked.stdout
    with closing(sqlite3.connect(own_journal)) as db:
        (looked_up_by,), = db.execute("SELECT MAX(id) FROM calls")
    monkeypatch.setenv("FINE", "yes")
    report = tmp_path / "report.json"
    last = outbound("run", str(playbook), "--resume", run_id, "--report-json", str(report))
    assert last.exit_code == 0, last.output
    assert f"iteration 0: an earlier resume found {CREATE} made; not sent again" in last.stdout
    with closing(sqlite3.connect(own_journal)) as db:
        assert db.execute("SELECT endpoint FROM calls WHERE id > ?",
                          (looked_up_by,)).fetchall() == []
    assert _creates(live) - before == 2
    assert json.loads(report.read_text())["outputs"]["made"] == 2


NUMBERS_OF_ENV = isales_playbook("reserve the numbers NUMBERS has", """\
    timeout: {total: 2s}
steps:
  - id: reserve
    for_each: "{{ env.NUMBERS.split(',') }}"
    as: number
    key: "{{ number }}"
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "1", calledNo: "{{ number }}",
             userAccount: ops, appointTime: 1900000000000}
    outputs: {number: "{{ number }}"}
outputs:
  numbers: "{{ steps.reserve.outputs | map(attribute='number') | list }}"
""")


REFUSED_LOOKUP = {"kind": "http_error", "status": 400, "on": "huawei-isales.appoint.list"}


@pytest.mark.parametrize(("fault", "made", "told"), [
    ({"kind": "reset_after"}, 1,
     "was looked up: appoint.list shows it happened, and the step's outputs do not have it"),
    ({"kind": "http_error", "status": 503}, 0, "was looked up: appoint.list shows it did not "
     "happen"),
    ({"kind": "reset_after"}, 1, "could not be looked up (")])
def test_an_unknown_create_of_an_item_the_list_no_longer_has_is_looked_up(
        live: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: dict[str, Any],
        made: int, told: str) -> None:
    """The item left the list between the attempts (its number taken off the campaign, say):
    its create is not sent again, but the journal holds its request, and the spec's reconcile
    tells whether the vendor made it, which no one then has to ask the vendor by hand."""
    playbook = tmp_path / "p.yaml"
    playbook.write_text(NUMBERS_OF_ENV)
    prefix = next(PREFIXES)
    numbers = [f"{prefix}{n}" for n in range(3)]
    monkeypatch.setenv("NUMBERS", ",".join(numbers))
    _faults(live, {**fault, "on": CREATE, "times": 1})
    before = _creates(live)
    first = outbound("run", str(playbook))
    assert first.exit_code == 1
    refused = told.startswith("could not")  # the lookup itself refused
    _faults(live, *([REFUSED_LOOKUP] if refused else []))
    monkeypatch.setenv("NUMBERS", ",".join(numbers[1:]))
    run_id = _run_id(first.stdout)
    resumed = outbound("run", str(playbook), "--resume", run_id)
    _faults(live)
    assert resumed.exit_code == 0, resumed.output
    assert (f"iteration 0 (key {numbers[0]}): no longer in the list, and its {CREATE} of "
            f"unknown outcome {told}") in resumed.stdout
    assert resumed.stdout.count("no longer in the list") == 1
    assert _creates(live) - before == made + 2
    assert f"numbers: {json.dumps(numbers[1:])}" in resumed.stdout
    shown = json.loads(outbound("runs", "show", run_id, "--format", "json").stdout)
    assert len(shown["unknown_writes"]) == refused  # left to `runs resolve`, if unsettled


def test_an_unknown_create_of_a_gone_item_is_not_looked_up_by_a_masked_request(
        live: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The number the lookup asks for held a secret, which the journal masked: looked up by
    the masked request, the create would seem never made. Its operator is asked instead."""
    playbook = tmp_path / "p.yaml"
    playbook.write_text(NUMBERS_OF_ENV.replace('calledNo: "{{ number }}"',
                                               'calledNo: "{{ number ~ secret(\'EXT\') }}"'))
    prefix = next(PREFIXES)
    numbers = [f"{prefix}{n}" for n in range(2)]
    monkeypatch.setenv("NUMBERS", ",".join(numbers))
    monkeypatch.setenv("EXT", "#*#*9")  # an extension no number, id or time holds
    _faults(live, {"kind": "reset_after", "on": CREATE, "times": 1})
    first = outbound("run", str(playbook))
    assert first.exit_code == 1
    _faults(live)
    monkeypatch.setenv("NUMBERS", numbers[1])
    run_id = _run_id(first.stdout)
    resumed = outbound("run", str(playbook), "--resume", run_id)
    assert resumed.exit_code == 0, resumed.output
    assert (f"iteration 0 (key {numbers[0]}): no longer in the list, and its {CREATE} of "
            "unknown outcome cannot be looked up (the lookup needs a secret the journal "
            f"masked): outbound runs resolve {run_id} reserve[0] records what became of it"
            ) in resumed.stdout
    assert "#*#*9" not in resumed.output
    shown = json.loads(outbound("runs", "show", run_id, "--format", "json").stdout)
    assert len(shown["unknown_writes"]) == 1
    assert shown["unknown_writes"][0]["why"] == (  # what its operator settles it by
        "the connection failed (the server closed the connection in the middle of its "
        "answer); the outcome is unknown")


def test_killed_again_and_again_it_still_makes_each_reservation_once(
        live: str, own_journal: Path) -> None:
    """SIGKILL at random moments, resume each time: 300 reservations, none twice."""
    prefix, wanted = next(PREFIXES), 300
    _faults(live, {"kind": "latency", "seconds": 0.03, "on": CREATE})  # 4 in flight: 130/s
    before = _creates(live)
    chance = random.Random(11)
    arguments = ["--var", f"count={wanted}", "--var", f"prefix={prefix}"]
    progress = []
    for _ in range(4):
        process, run_id = _started(PLAYBOOK, *arguments, stderr=subprocess.STDOUT)
        time.sleep(chance.uniform(0.1, 0.5))
        _kill(process)
        arguments = ["--resume", run_id]
        with closing(sqlite3.connect(own_journal)) as db:
            progress.append(db.execute("SELECT COUNT(*) FROM items WHERE run_id = ? AND "
                                       "step = 'reserve' AND status = 'ok'",
                                       (run_id,)).fetchone()[0])
    last = outbound("run", PLAYBOOK, "--resume", run_id, "--report-json",
                    str(own_journal.parent / "r.json"))
    assert last.exit_code == 0, last.output
    assert progress == sorted(progress) and progress[-1] < wanted  # each kill cut a run short
    assert progress[0] > 0  # and the runs made headway between kills
    _faults(live)
    assert _creates(live) - before == wanted
    numbers = _mine(json.loads((own_journal.parent / "r.json").read_text())["outputs"]
                    ["numbers"], prefix)
    assert len(numbers) == len(set(numbers)) == wanted
    with closing(sqlite3.connect(own_journal)) as db:
        items = dict(db.execute("SELECT status, COUNT(*) FROM items WHERE run_id = ? AND "
                                "step = 'reserve' GROUP BY status", (run_id,)).fetchall())
        outcomes = dict(db.execute("SELECT COALESCE(outcome, 'none'), COUNT(*) FROM calls "
                                   "WHERE run_id = ? AND kind = 'create' GROUP BY 1",
                                   (run_id,)).fetchall())
        (reserve_calls,), = db.execute("SELECT COUNT(*) FROM calls WHERE run_id = ? AND "
                                       "step = 'reserve'", (run_id,)).fetchall()
    assert items == {"ok": wanted}
    # every create the simulator made is a journaled intent, answered or reconciled ok; each
    # one a kill cut short and that was not made is failed, and was sent again
    assert outcomes.get("ok") == wanted and set(outcomes) <= {"ok", "failed"}
    shown = json.loads(outbound("runs", "show", run_id, "--format", "json").stdout)
    assert shown["steps"][0]["step"] == "reserve"  # its calls: every attempt's, the killed too
    assert shown["steps"][0]["calls"] == reserve_calls >= wanted  # reconciling lists too
    # the run's time: the killed attempts' (at least from their first call to their last),
    # the last one's, and not the start-ups between them
    with closing(sqlite3.connect(own_journal)) as db:
        attempts = db.execute("SELECT started_at, finished_at FROM attempts WHERE run_id = ? "
                              "ORDER BY attempt", (run_id,)).fetchall()
        calling = [db.execute("SELECT COALESCE(MAX(sent_at) - MIN(sent_at), 0) FROM calls WHERE "
                              "run_id = ? AND sent_at >= ? AND sent_at < ?",
                              (run_id, started, following)).fetchone()[0]
                   for (started, _), (following, _) in pairwise(attempts)]
    assert [ended is None for _, ended in attempts] == [True] * 4 + [False]
    last = attempts[-1][1] - attempts[-1][0]
    assert sum(calling) > 0 and last + sum(calling) <= shown["ran_s"] < (
        shown["finished_at"] - shown["started_at"])


def test_a_vendor_failing_every_way_and_a_kill_still_make_each_reservation_once(
        live: str, own_journal: Path, tmp_path: Path) -> None:
    """Creates whose answers are lost, cut short, refused or 503s, a SIGKILL mid-run, and
    resumes: each unknown looked up, each failure sent again, each reservation made once."""
    playbook = tmp_path / "reserve-through-faults.yaml"
    playbook.write_text((ROOT / PLAYBOOK).read_text(encoding="utf-8").replace(
        "    concurrency: 4\n", "    concurrency: 4\n    max_failures: 100%\n").replace(
        "timeout: {total: 3s}", "timeout: {total: 1s}"), encoding="utf-8")
    prefix, wanted, report = next(PREFIXES), 60, tmp_path / "r.json"
    _faults(live, {"kind": "latency", "seconds": 0.04, "on": CREATE},  # 0.6 s at least
            *({"kind": kind, "rate": 0.06, "on": CREATE}
              for kind in ("reset_after", "reset_before", "truncated")),
            {"kind": "http_error", "status": 503, "rate": 0.06, "on": CREATE},
            {"kind": "vendor_code", "code": "0200006", "rate": 0.06, "on": CREATE})
    try:
        process, run_id = _started(str(playbook), "--var", f"count={wanted}", "--var",
                                   f"prefix={prefix}")
        time.sleep(0.4)
        _kill(process)
        exits = [outbound("run", str(playbook), "--resume", run_id).exit_code]  # faults still
    finally:
        _faults(live)
    for _ in range(2):
        resumed = outbound("run", str(playbook), "--resume", run_id, "--report-json", str(report))
        exits.append(resumed.exit_code)
        if resumed.exit_code == 0:
            break
    assert exits[0] in (0, 1) and exits[-1] == 0, exits
    numbers = _mine(json.loads(report.read_text())["outputs"]["numbers"], prefix)
    assert sorted(numbers) == [f"{prefix}{n:04d}" for n in range(wanted)]  # each one once
    shown = json.loads(outbound("runs", "show", run_id, "--format", "json").stdout)
    assert shown["status"] == "ok"
    # each create answered, or looked up: none unknown
    with closing(sqlite3.connect(own_journal)) as db:
        creates = db.execute("SELECT iteration, outcome FROM calls WHERE run_id = ? AND kind = "
                             "'create' AND COALESCE(outcome, 'unknown') = 'unknown'",
                             (run_id,)).fetchall()
    assert creates == []


@pytest.mark.parametrize(("signum", "exit_code", "said"), [
    (signal.SIGTERM, 143, "stopped by SIGTERM"), (signal.SIGINT, 130, "interrupted")])
def test_a_stop_waits_for_the_writes_in_flight_and_the_run_resumes(
        live: str, own_journal: Path, signum: signal.Signals, exit_code: int, said: str) -> None:
    """A CI job cancelled (SIGTERM) or Ctrl-C: no new call leaves, the creates already sent
    get their answers into the journal, the run is journaled as interrupted with its reports
    written so, and --resume finishes it with each reservation made once."""
    prefix, wanted = next(PREFIXES), 40
    _faults(live, {"kind": "latency", "seconds": 2, "on": CREATE})
    before = _creates(live)
    report, junit = own_journal.parent / "r.json", own_journal.parent / "junit.xml"
    process, run_id = _started(PLAYBOOK, "--var", f"count={wanted}", "--var", f"prefix={prefix}",
                               "--report-json", str(report), "--report-junit", str(junit),
                               stderr=subprocess.PIPE)
    time.sleep(1)  # the first four creates (concurrency: 4) are out, answered at 2 s
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == exit_code
    assert stderr == ("stopping: 4 writes in flight get an answer first, to be journaled "
                      "(Ctrl-C or SIGTERM again stops at once; --resume then looks up what was "
                      f"sent)\nerror: {said}\n")
    assert stdout.startswith("  STOP  reserve  4 calls, 4 ok, ")  # the step, what it did
    assert _creates(live) - before == 4
    shown = json.loads(outbound("runs", "show", run_id, "--format", "json").stdout)
    assert (shown["status"], shown["exit_code"]) == ("interrupted", exit_code)
    assert shown["calls"] == {"ok": 4}
    assert shown["unknown_writes"] == []  # nothing for --resume to look up
    assert [(s["step"], s["status"], s["calls"], s["succeeded"]) for s in shown["steps"]] == [
        ("reserve", "interrupted", 4, 4)]
    document = json.loads(report.read_text())
    assert not list(file_schema("report").issues(document))
    assert (document["status"], document["exit_code"]) == ("interrupted", exit_code)
    assert [(s["id"], s["status"], s["succeeded"]) for s in document["steps"]] == [
        ("reserve", "interrupted", 4)]
    JUNIT_XSD.validate(str(junit))
    errored = [case for case in ET.parse(junit).getroot().iter("testcase")
               if case.find("error") is not None]
    assert [case.get("name") for case in errored] == ["reserve", "run"]
    _faults(live)
    assert outbound("run", PLAYBOOK, "--resume", run_id).exit_code == 0
    assert _creates(live) - before == wanted


def test_a_second_sigterm_stops_at_once_and_resume_looks_up_the_writes_left(
        live: str, own_journal: Path) -> None:
    """Asked again, the run stops without waiting: the creates it cut off are unknown, and
    --resume looks each up rather than make it twice."""
    prefix, wanted = next(PREFIXES), 12
    _faults(live, {"kind": "latency", "seconds": 2.5, "on": CREATE})  # under the 3s timeout
    before = _creates(live)
    process, run_id = _started(PLAYBOOK, "--var", f"count={wanted}", "--var", f"prefix={prefix}",
                               stderr=subprocess.PIPE)
    time.sleep(1)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 143
    assert stderr.splitlines()[-2:] == [
        f"warning: 4 writes cut off before the answer came, the outcome unknown: outbound runs "
        f"show {run_id} lists them, and how --resume settles each", "error: stopped by SIGTERM"]
    shown = json.loads(outbound("runs", "show", run_id, "--format", "json").stdout)
    assert shown["calls"] == {"unknown": 4}  # cut off before their answers came, and said so
    assert [w["iteration"] for w in shown["unknown_writes"]] == [0, 1, 2, 3]
    assert {w["why"] for w in shown["unknown_writes"]} == {
        "cut off before its answer came: the run was stopped"}
    _faults(live)
    assert outbound("run", PLAYBOOK, "--resume", run_id).exit_code == 0
    assert _creates(live) - before == wanted  # the four were made once, by the first run


def test_a_hangup_stops_the_run_gently_though_its_terminal_is_gone(live: str) -> None:
    """An SSH session dropped mid-campaign: SIGHUP stops the run as SIGTERM does, though
    every write to its terminal now fails (EIO), and the command exits 129."""
    prefix, wanted = next(PREFIXES), 40
    _faults(live, {"kind": "latency", "seconds": 2, "on": CREATE})
    before = _creates(live)
    master, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", PLAYBOOK, "--var", f"count={wanted}", "--var",
         f"prefix={prefix}"], cwd=ROOT, stdout=terminal, stderr=terminal)
    os.close(terminal)
    shown, deadline = b"", time.monotonic() + 30
    while not re.search(rb"run \d{8}-", shown):  # its run id, on the terminal
        ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no run id on its terminal within 30 s: {shown!r}"
        shown += os.read(master, 4096)
    time.sleep(1)  # the first four creates are out, answered at 2 s
    os.close(master)  # the terminal is gone
    process.send_signal(signal.SIGHUP)
    assert process.wait(timeout=30) == 129
    (run,) = json.loads(outbound("runs", "list", "--format", "json").stdout)
    assert (run["status"], run["exit_code"]) == ("interrupted", 129)
    journaled = json.loads(outbound("runs", "show", run["run_id"], "--format", "json").stdout)
    assert (journaled["calls"], journaled["unknown_writes"]) == ({"ok": 4}, [])
    assert journaled["error"] == "stopped by SIGHUP"
    _faults(live)
    assert outbound("run", PLAYBOOK, "--resume", run["run_id"]).exit_code == 0
    assert _creates(live) - before == wanted


def test_a_create_killed_before_the_next_commit_is_still_in_the_journal(
        own_journal: Path) -> None:
    """A write's intent is on disk (in the intent log) before the request may leave; whoever
    opens the journal next copies it in, as a create with no outcome for --resume."""
    killed = subprocess.run([sys.executable, "-c", f"""
import asyncio, os, signal
from runner.journal import Journal
journal = Journal({str(own_journal)!r})
journal.begin("run-1", "Reserve many", "reserve-many.yaml", "-", {{}}, None)
async def send():
    journal.intent("reserve", 0, "{CREATE}", "create", {{"calledNo": "13600000000"}},
                   write=True)
    os.kill(os.getpid(), signal.SIGKILL)  # as the request would leave, before any commit
asyncio.run(send())
"""], cwd=ROOT)
    assert killed.returncode == -signal.SIGKILL
    shown = json.loads(outbound("runs", "show", "run-1", "--format", "json").output)
    assert shown["calls"] == {"no outcome": 1}
    assert shown["status"] == "killed"  # recorded as running, and no process writes it
    told = outbound("runs", "show", "run-1").stdout.splitlines()
    assert told[told.index('  reserve[0] huawei-isales.appoint.create {"calledNo": '
                           '"13600000000"}') + 1] == (
        "      no outcome recorded: the run was killed (or crashed) with it out")
    with closing(sqlite3.connect(own_journal)) as db:
        assert db.execute("SELECT step, iteration, kind, params FROM calls").fetchall() == [
            ("reserve", 0, "create", '{"calledNo":"13600000000"}')]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_create_answered_before_the_kill_keeps_its_answer(own_journal: Path) -> None:
    """Its outcome goes to the intent log too: a kill between the answer and the commit leaves
    a create answered ok, with its answer, not one to look up (or, without a reconcile, to
    ask its operator about)."""
    killed = subprocess.run([sys.executable, "-c", f"""
import asyncio, os, signal
from runner.journal import Journal
journal = Journal({str(own_journal)!r})
journal.begin("run-1", "Reserve many", "reserve-many.yaml", "-", {{}}, None)
async def send():
    for n in range(2):
        made = journal.intent("reserve", n, "{CREATE}", "create",
                              {{"calledNo": f"1360000000{{n}}"}}, write=True)
        if n == 0:  # the second is still in flight when the kill comes
            journal.outcome(made, status=200, result_code="0", outcome="ok", duration=0.01,
                            response={{"returnCode": "0", "returnObject": {{"appointId": "A7"}}}})
    os.kill(os.getpid(), signal.SIGKILL)  # before any commit
asyncio.run(send())
"""], cwd=ROOT)
    assert killed.returncode == -signal.SIGKILL
    shown = json.loads(outbound("runs", "show", "run-1", "--format", "json").output)
    assert shown["calls"] == {"ok": 1, "no outcome": 1}
    with closing(Journal(own_journal, reader=True)) as reader:
        recorded = reader.recorded("run-1")
    assert recorded.answered[("reserve", 0)].body["returnObject"] == {"appointId": "A7"}
    assert list(recorded.unknown) == [("reserve", 1)]


def test_an_intent_log_that_cannot_be_written_sends_no_create(live: str,
                                                               own_journal: Path) -> None:
    own_journal.with_name(own_journal.name + "-intents").symlink_to("/dev/full")
    before = _creates(live)
    result = outbound("run", PLAYBOOK, "--var", "count=3", "--var", f"prefix={next(PREFIXES)}")
    assert result.exit_code == 1, result.output
    assert "cannot be written ([Errno 28] No space left on device); the run stops here" \
        in result.stderr
    assert "FAIL  reserve  0 calls, 0 ok" in result.stdout  # none was sent
    assert _creates(live) == before


def test_a_second_run_on_a_journal_being_written_is_refused(live: str,
                                                            own_journal: Path) -> None:
    from runner.journal import Journal

    before = _creates(live)
    writing = Journal(own_journal)
    writing.begin("run-live", "Reserve many", PLAYBOOK, "-", {}, None)
    try:
        refused = outbound("run", PLAYBOOK, "--var", "count=2", "--var",
                           f"prefix={next(PREFIXES)}")
        assert refused.exit_code == 2
        assert (f"journal {own_journal} is being written by another run; wait for it to end "
                "(runs that overlap need a journal each: --journal PATH)") in refused.stderr
        listed = outbound("runs", "list")  # reading it is fine
        assert listed.exit_code == 0
        assert "run-live  running" in listed.output
        pruned = outbound("runs", "prune", "--older-than", "0s")  # removing from it is not
        assert pruned.exit_code == 2
        assert "is being written by another run; wait for it to end" in pruned.stderr
    finally:
        writing.close()
    assert _creates(live) == before
    assert outbound("run", PLAYBOOK, "--var", "count=2", "--var",
                    f"prefix={next(PREFIXES)}").exit_code == 0


def test_two_shards_together_make_every_reservation_once(live: str, tmp_path: Path,
                                                         own_journal: Path) -> None:
    prefix, wanted = next(PREFIXES), 40
    before = _creates(live)
    reports = []
    for shard in ("1/2", "2/2"):
        report = tmp_path / f"shard-{shard[0]}.json"
        result = outbound("run", PLAYBOOK, "--var", f"count={wanted}", "--var",
                          f"prefix={prefix}", "--shard", shard, "--report-json", str(report))
        assert result.exit_code == 0, result.output
        assert f"(shard {shard})" in result.stdout
        reports.append(json.loads(report.read_text()))
    made = [next(s for s in r["steps"] if s["id"] == "reserve")["succeeded"] for r in reports]
    assert sum(made) == wanted and all(0 < m < wanted for m in made)
    assert _creates(live) - before == wanted
    numbers = _mine(reports[-1]["outputs"]["numbers"], prefix)
    assert sorted(numbers) == [f"{prefix}{n:04d}" for n in range(wanted)]
    for k in (1, 2):  # each shard keeps its own journal beside the default one
        assert own_journal.with_name(f"journal.shard-{k}-of-2.sqlite").exists()
    merged, junit = tmp_path / "merged.json", tmp_path / "merged.xml"
    result = outbound("runs", "merge", str(tmp_path / "shard-1.json"),
                      str(tmp_path / "shard-2.json"), "--report-json", str(merged),
                      "--report-junit", str(junit))
    assert result.exit_code == 0
    document = json.loads(merged.read_text())
    reserve = next(s for s in document["steps"] if s["id"] == "reserve")
    assert (reserve["iterations"], reserve["succeeded"]) == (wanted, wanted)
    assert document["shard"] == "1/2,2/2" and document["status"] == "ok"


def test_a_for_each_over_a_shards_own_results_is_not_split_again(in_repo: Path,
                                                                   tmp_path: Path) -> None:
    # results polls what reserve made: in each shard, every one of that shard's reservations
    reports = []
    for shard in ("1/2", "2/2"):
        report = tmp_path / f"shard-{shard[0]}.json"
        result = outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "--shard", shard,
                          "--report-json", str(report))
        assert result.exit_code == 0, result.output
        reports.append(json.loads(report.read_text()))
    reserved = [r["outputs"]["reserved"] for r in reports]
    polled = sorted(row["number"] for r in reports for row in r["outputs"]["results"])
    assert sum(reserved) == 4 and all(reserved)  # one customer's task is not running
    assert polled == ["13800000001", "13800000017", "13800000029", "13800000035"]


def test_a_dry_run_of_a_shard_plans_its_share(in_repo: Path) -> None:
    planned = []
    for shard in ("1/2", "2/2"):
        result = outbound("run", PLAYBOOK, "--dry-run", "--shard", shard, "--var", "count=8",
                          "--var", "prefix=1390")
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"Reserve many  ({PLAYBOOK}, dry run, nothing is sent; "
                                        f"shard {shard})\n")
        planned.append({line.split()[1] for line in result.stdout.splitlines()
                        if line.startswith("  plan  reserve[")})
    assert planned[0] and planned[1] and not planned[0] & planned[1]
    assert sorted(planned[0] | planned[1]) == [f"reserve[{n}]" for n in range(8)]


def test_a_run_sought_in_another_shards_journal_is_pointed_to(in_repo: Path, tmp_path: Path,
                                                              own_journal: Path) -> None:
    plan = tmp_path / "reset.yaml"  # the shard's first create is cut off: it fails, resumable
    plan.write_text("faults:\n  - {kind: reset_after, rate: 1, times: 1, on: create}\n")
    failed = outbound("run", PLAYBOOK, "--sim", "--sim-faults", str(plan), "--shard", "1/2",
                      "--var", "count=6", "--var", "prefix=1397")
    assert failed.exit_code == 1, failed.output
    run_id = _run_id(failed.stdout)
    shard = own_journal.with_name("journal.shard-1-of-2.sqlite")
    for wrong, journal in ((["--shard", "2/2"], "journal.shard-2-of-2.sqlite"),
                           ([], "journal.sqlite")):
        result = outbound("run", PLAYBOOK, "--sim", "--var", "count=6", "--var", "prefix=1397",
                          "--resume", run_id, *wrong)
        assert (result.exit_code, result.stderr) == (2, (
            f"error: journal {own_journal.with_name(journal)} has no run {run_id!r}; {shard} "
            f"has it (a run of shard 1/2: --shard 1/2 resumes it, --journal {shard} reads "
            "it)\n"))


def test_a_shard_given_its_journal_keeps_it_there(in_repo: Path, tmp_path: Path,
                                                  own_journal: Path) -> None:
    """Shards journal beside the default journal under names of their own; a `--journal`
    named on the command line is the shard's file as named."""
    named = tmp_path / "campaign.sqlite"
    result = outbound("run", PLAYBOOK, "--sim", "--var", "count=4", "--shard", "2/2",
                      "--journal", str(named))
    assert result.exit_code == 0, result.output
    listed = json.loads(outbound("runs", "list", "--journal", str(named), "--format",
                                 "json").stdout)
    assert [run["run_id"] for run in listed] == [_run_id(result.stdout)]
    assert sorted(p.name for p in tmp_path.glob("campaign*.sqlite")) == ["campaign.sqlite"]
    defaulted = outbound("run", PLAYBOOK, "--sim", "-q", "--var", "count=4", "--shard", "2/2")
    assert defaulted.exit_code == 0, defaulted.output
    assert sorted(p.name for p in own_journal.parent.glob("*.sqlite")) == [
        "journal.shard-2-of-2.sqlite"]


def test_a_campaign_begun_in_shards_is_not_split_otherwise_by_the_next_job(
        live: str, own_journal: Path) -> None:
    """Each shard's job resumes its own share; a job split otherwise (the matrix edited from
    two shards to three, or --shard dropped) finds no run of its own, and starting one would
    make the campaign's items again: it is refused, and nothing is sent."""
    scheduled = ["run", PLAYBOOK, "--var", "count=6", "--var", f"prefix={next(PREFIXES)}",
                 "--resume", "latest"]
    before = _creates(live)
    first = outbound(*scheduled, "--shard", "1/2")
    assert first.exit_code == 0, first.output
    second = outbound(*scheduled, "--shard", "2/2")  # beside the first: the same split
    assert second.exit_code == 0, second.output
    assert _creates(live) - before == 6
    for split, named in (("--shard 1/3", ["--shard", "1/3"]), ("no --shard", [])):
        refused = outbound(*scheduled, *named)
        assert refused.exit_code == 2
        assert refused.stderr.startswith(f"error: run {_run_id(first.stdout)} of this "
                                         "playbook, with these inputs,"), refused.stderr
        assert (f"was begun with --shard 1/2 (journal {own_journal.parent}/journal.shard-1-of-"
                f"2.sqlite); a new run with {split} would make its items again. A campaign "
                "goes on split as it began") in " ".join(refused.stderr.split())
    assert _creates(live) - before == 6
    assert outbound(*scheduled, "--shard", "2/2").exit_code == 0  # the same split: done
    # the journals beside were read, and left as they were (no WAL files of the reading); the
    # job refused without --shard left no journal of its own
    assert sorted(p.name for p in own_journal.parent.iterdir()) == [
        "journal.shard-1-of-2.sqlite", "journal.shard-1-of-2.sqlite-intents",
        "journal.shard-2-of-2.sqlite", "journal.shard-2-of-2.sqlite-intents"]


def test_an_item_always_lands_in_the_same_one_shard() -> None:
    from runner.engine.items import Shard

    items: list[Any] = [f"1380000{n:04d}" for n in range(200)] + [{"id": n} for n in range(50)]
    shards = [Shard(k, 3) for k in (1, 2, 3)]
    owners = [[s.number for s in shards if s.owns(item)] for item in items]
    assert all(len(o) == 1 for o in owners)
    assert owners == [[s.number for s in shards if s.owns(item)] for item in items]
    assert {o[0] for o in owners} == {1, 2, 3}


def test_a_bad_shard_is_refused(in_repo: Path) -> None:
    result = outbound("run", PLAYBOOK, "--shard", "3/2")
    assert result.exit_code == 2
    assert "--shard '3/2': expected K/N with 1 <= K <= N" in result.stderr


def test_a_journal_that_cannot_be_written_stops_the_run_before_sending(
        live: str, tmp_path: Path) -> None:
    """A full disk (SQLite's page limit stands in for one): creates stop unsent, and every
    reservation the simulator made has its intent in the journal (kept by the intent log
    while the file was full, copied in when the journal is next opened)."""
    from runner.engine.launch import execute
    from runner.journal import Journal, new_run_id
    from runner.playbook import load_playbook, resolve_inputs

    prefix = next(PREFIXES)
    playbook = load_playbook(ROOT / PLAYBOOK)
    inputs = resolve_inputs(playbook, {"count": 400, "prefix": prefix})
    journal = Journal(tmp_path / "full.sqlite")
    run_id = new_run_id()
    journal.begin(run_id, playbook.name, playbook.file, "-", inputs, None)
    pages = journal.db.execute("PRAGMA page_count").fetchone()[0]
    journal.db.execute(f"PRAGMA max_page_count = {pages + 4}")
    before = _creates(live)
    result = asyncio.run(execute(playbook, inputs, lambda event: None, journal=journal,
                                 run_id=run_id))
    journal.close()
    assert result.status == "failed" and result.exit_code == 1
    assert "cannot be written (database or disk is full); the run stops here" \
        in str(result.error)
    made = _creates(live) - before
    with closing(Journal(tmp_path / "full.sqlite", reader=True)) as reopened:
        intents = reopened.db.execute("SELECT COUNT(*) FROM calls WHERE run_id = ? AND kind = "
                                      "'create'", (run_id,)).fetchone()[0]
    assert 0 < made <= intents < 400


def test_a_shards_percentage_of_failures_is_of_its_share(in_repo: Path, tmp_path: Path) -> None:
    # the shard's first item fails: 1 of its ~20 items is within 10%, as 1 of 40 is for the
    # whole list; judged against the items started so far (1 of 1) it stopped the shard
    from runner.engine.items import Shard

    first = next(n for n in range(40) if Shard(1, 2).owns(n))
    playbook = tmp_path / "p.yaml"
    playbook.write_text(f"""\
playbook_version: 1
name: one bad number
services:
  isales: {{spec: huawei-isales}}
steps:
  - id: reserve
    for_each: "{{{{ range(40) | list }}}}"
    as: n
    max_failures: 10%
    call: isales.appoint.create
    params: {{vdnId: 8, taskId: "2201", callType: "1", userAccount: ops,
             calledNo: "{{{{ ('999' if n == {first} else '137') ~ '0000%04d' % n }}}}",
             appointTime: "{{{{ now_ms() + 600000 }}}}"}}
""")
    report = tmp_path / "r.json"
    result = outbound("run", str(playbook), "--sim", "--shard", "1/2", "--report-json",
                      str(report))
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[0] == "error: 1 item failed within max_failures:"
    reserve = json.loads(report.read_text())["steps"][0]
    assert reserve["failed"] == 1 and reserve["succeeded"] == reserve["iterations"] - 1 > 10


def test_a_run_resumes_only_with_its_own_playbook(in_repo: Path, tmp_path: Path) -> None:
    failed = outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "--var",
                      "campaign_id=404")
    assert failed.exit_code == 1
    run_id = failed.stdout.splitlines()[1].split()[1]
    other = outbound("run", "playbooks/crm-callbacks.yaml", "--sim", "--resume", run_id)
    assert other.exit_code == 2
    assert other.stderr.startswith(f"error: run {run_id} is a run of playbook 'Reserve iSales "
                                   "callbacks for customers of running speech tasks', not ")
    edited = tmp_path / "edited.yaml"
    edited.write_text((ROOT / "playbooks/speech-callbacks.yaml").read_text() + "# edited\n")
    again = outbound("run", str(edited), "--sim", "--resume", run_id)
    assert again.stderr.splitlines()[0] == (
        f"warning: {edited} has changed since run {run_id} began; finished items are matched "
        "by step id and their key or place in their list, so if a list, its order or a "
        "for_each's key changed, stop and start a new run instead")
    assert again.exit_code == 1  # it ran: the journalled campaign_id still does not exist


def test_a_playbook_saved_with_crlf_resumes_as_unchanged(in_repo: Path, tmp_path: Path,
                                                         own_journal: Path) -> None:
    """The journal keeps the hash of the very bytes the run parsed (a Windows editor's line
    ends included), so resuming with the same file does not warn that it changed."""
    saved = tmp_path / "crlf.yaml"
    raw = (ROOT / "playbooks/speech-callbacks.yaml").read_text().replace("\n", "\r\n").encode()
    saved.write_bytes(raw)
    failed = outbound("run", str(saved), "--sim", "--var", "campaign_id=404")
    assert failed.exit_code == 1
    run_id = failed.stdout.splitlines()[1].split()[1]
    with closing(sqlite3.connect(own_journal)) as db:
        assert db.execute("SELECT playbook_sha FROM runs").fetchall() == [
            (hashlib.sha256(raw).hexdigest(),)]
    again = outbound("run", str(saved), "--sim", "--resume", run_id)
    assert again.exit_code == 1
    assert "has changed since" not in again.stderr


def test_a_create_answered_ok_in_an_item_that_failed_after_is_not_sent_again(
        live: str, tmp_path: Path) -> None:
    """The reservation was made, then the item failed on its outputs: resuming (with the
    playbook mended) reads the recorded answer instead of reserving the number again."""
    prefix = next(PREFIXES)
    playbook = tmp_path / "outputs-broken.yaml"
    mended = (ROOT / PLAYBOOK).read_text(encoding="utf-8")
    unread = '{id: "{{ response.returnObject[inputs.prefix].id }}"}'  # named at run time
    playbook.write_text(mended.replace('{id: "{{ values.appointId }}"}', unread))
    before = _creates(live)
    first = outbound("run", str(playbook), "--var", "count=3", "--var", f"prefix={prefix}")
    assert first.exit_code == 1, first.output
    assert f"no key '{prefix}' here" in first.stderr
    assert _creates(live) - before == 3  # each item failed after its reservation was made
    playbook.write_text(mended)
    report = tmp_path / "report.json"
    second = outbound("run", str(playbook), "--resume", _run_id(first.stdout),
                      "--report-json", str(report))
    assert second.exit_code == 0, second.output
    for n in range(3):
        assert (f"iteration {n}: huawei-isales.appoint.create was answered before --resume; "
                "its recorded answer is used, not sent again") in second.stdout
    assert _creates(live) - before == 3
    outputs = json.loads(report.read_text())["outputs"]
    assert outputs["reserved"] == 3
    assert sorted(_mine(outputs["numbers"], prefix)) == [f"{prefix}{n:04d}" for n in range(3)]


def test_a_playbook_edited_so_its_inputs_changed_says_why_it_cannot_resume(
        in_repo: Path, tmp_path: Path) -> None:
    original = (ROOT / "playbooks/speech-callbacks.yaml").read_text(encoding="utf-8")
    edited = tmp_path / "speech.yaml"
    edited.write_text(original)
    failed = outbound("run", str(edited), "--sim", "--var", "campaign_id=404")
    assert failed.exit_code == 1
    run_id = failed.stdout.splitlines()[1].split()[1]
    edited.write_text(original.replace("  agent: {type: string, default: \"116\",",
                                       "  team: {type: string,")
                      .replace("inputs.agent", "inputs.team"))
    again = outbound("run", str(edited), "--sim", "--resume", run_id)
    assert again.exit_code == 2
    assert again.stderr.splitlines()[-1] == (
        f"error: run {run_id} cannot resume with {edited} as it is now: it has no input agent "
        "any more; it needs input team, which the run was not given (the playbook was edited "
        "since the run began; resume with it as it was, or start a new run)")


def test_resume_latest_continues_the_run_with_the_same_inputs_or_starts_anew(
        in_repo: Path, tmp_path: Path) -> None:
    """The CI way: the same command each time, with that day's --vars-file."""
    playbook = "playbooks/speech-callbacks.yaml"
    bad, good = tmp_path / "bad.yaml", tmp_path / "good.yaml"
    bad.write_text('campaign_id: "404"\n')  # an export naming a campaign that does not exist
    good.write_text('campaign_id: "2201"\n')
    first = outbound("run", playbook, "--sim", "--vars-file", str(bad), "--resume", "latest")
    assert first.exit_code == 1
    assert first.stdout.startswith("no run of this playbook with these inputs to resume; "
                                   "starting a new run\n")
    failed_id = _run_id(first.stdout)
    again = outbound("run", playbook, "--sim", "--vars-file", str(bad), "--resume", "latest")
    assert again.exit_code == 1
    assert f"resuming run {failed_id}\n" in again.stdout
    fresh = outbound("run", playbook, "--sim", "--vars-file", str(good), "--resume", "latest")
    assert fresh.exit_code == 0, fresh.output
    assert fresh.stdout.startswith(
        "no run of this playbook with these inputs to resume; starting a new run "
        f"(run {failed_id} is unfinished, with other inputs)\n")
    assert _run_id(fresh.stdout) != failed_id


def test_the_scheduled_command_after_the_campaign_finished_makes_nothing_again(
        live: str) -> None:
    """The next cron job, with the same inputs, finds the campaign done: it reserves nothing
    a second time. Other inputs (the next day's export) start a new run."""
    prefix = next(PREFIXES)
    scheduled = ["run", PLAYBOOK, "--var", "count=4", "--var", f"prefix={prefix}", "--resume",
                 "latest"]
    before = _creates(live)
    first = outbound(*scheduled)
    assert first.exit_code == 0, first.output
    run_id = _run_id(first.stdout)
    again = outbound(*scheduled)
    assert again.exit_code == 0, again.output
    assert again.stdout == (f"run {run_id} of these inputs already finished; nothing to do "
                            "(other inputs start a new run, as does leaving out --resume)\n")
    assert _creates(live) - before == 4
    other = outbound(*scheduled[:4], "--var", f"prefix={next(PREFIXES)}", "--resume", "latest")
    assert other.exit_code == 0, other.output
    assert _run_id(other.stdout) != run_id and _creates(live) - before == 8


def test_an_item_that_fails_for_good_is_left_out_by_hand_and_the_campaign_goes_on(
        in_repo: Path, tmp_path: Path) -> None:
    """A number the vendor refuses each time stops every resume at it (no max_failures):
    `runs resolve --skip` leaves it out, and the resume reserves the others, never it."""
    faults = tmp_path / "faults.yaml"
    faults.write_text(f"faults: [{{kind: vendor_code, code: '0200006', on: {CREATE}, "
                      "times: 1}]\n")  # the first create is refused (once: it is left out)
    junit, page = tmp_path / "junit.xml", tmp_path / "report.html"
    scheduled = ["run", "playbooks/speech-callbacks.yaml", "--sim", "--sim-faults", str(faults),
                 "--resume", "latest", "--report-json", str(tmp_path / "report.json"),
                 "--report-junit", str(junit), "--report-html", str(page)]
    assert outbound(*scheduled).exit_code == 1
    [failure] = json.loads((tmp_path / "report.json").read_text())["steps"][1]["failures"]
    assert (failure["iteration"], failure["key"]) == (0, "13800000001")
    refused = outbound("runs", "resolve", "latest", "reserve[0]", "--not-sent")
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: reserve[0] of run ")
    assert ("failed, and --resume tries it again (--skip leaves it out of the run): iteration 0 "
            "(key 13800000001): huawei-isales.appoint.create answered 0200006: database "
            "operation error\n") in refused.stderr
    left_out = outbound("runs", "resolve", "latest", "reserve[0]", "--skip")
    assert left_out.exit_code == 0, left_out.output
    assert left_out.stdout.endswith(": the item is left out of the run\n")
    resumed = outbound(*scheduled)
    assert resumed.exit_code == 0, resumed.output
    assert "  ok    reserve  0 calls, 3 ok, 2 skipped (1 by hand), 0 failed, " in resumed.stdout
    assert "  reserve  ok      0      5      3   2 (1 by hand)  0 " in resumed.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["outputs"]["reserved"] == 3  # of the four running tasks' customers
    assert "13800000001" not in {result["number"] for result in report["outputs"]["results"]}
    reserve = report["steps"][1]
    assert (reserve["status"], reserve["failures"], reserve["calls"]) == ("ok", [], 0)
    shown = outbound("runs", "show", "latest").stdout.splitlines()  # who left what out, and why
    assert "reserve  ok      4      5      3   2 (1 by hand)  0       0" in shown  # OK, SKIPPED
    assert shown[shown.index("left out by hand (runs resolve --skip):") + 1] == (
        "  reserve[0] (key 13800000001): it had failed: huawei-isales.appoint.create answered "
        "0200006: database operation error")
    told = ("iteration 0 (key 13800000001): resolved by hand: the item is left out of the run; "
            "it had failed: huawei-isales.appoint.create answered 0200006: database operation "
            "error")
    for _ in ("this job's reports", "the next job's, drawn from the journal"):
        [left_out] = json.loads((tmp_path / "report.json").read_text())["steps"][1]["left_out"]
        assert left_out == {"iteration": 0, "key": "13800000001", "reason": told}
        JUNIT_XSD.validate(str(junit))
        case = ET.parse(junit).find(".//testcase[@name='reserve[0] (key 13800000001)']/skipped")
        assert case is not None and case.get("message") == told
        assert ("<h2>Left out by hand (1)</h2><ul id=\"left-out\"><li><strong>reserve[0] (key "
                "13800000001)</strong>: it had failed: huawei-isales.appoint.create answered "
                "0200006: database operation error</li></ul>") in page.read_text()
        assert outbound(*scheduled).stdout.endswith("nothing to do (other inputs start a new "
                                                    "run, as does leaving out --resume)\n")


def test_several_items_are_left_out_at_once_or_none_is(in_repo: Path, tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text(f"faults: [{{kind: vendor_code, code: '0200006', on: {CREATE}, "
                      "times: 2}]\n")  # the first two creates refused
    scheduled = ["run", "playbooks/speech-callbacks.yaml", "--sim", "--sim-faults", str(faults),
                 "--resume", "latest", "--report-json", str(tmp_path / "report.json")]
    assert outbound(*scheduled).exit_code == 1
    failures = json.loads((tmp_path / "report.json").read_text())["steps"][1]["failures"]
    assert [failure["iteration"] for failure in failures] == [0, 1]
    mistyped = outbound("runs", "resolve", "latest", "reserve[0]", "reserve[9]", "--skip")
    assert mistyped.exit_code == 2
    assert "no write of unknown outcome at reserve[9]" in mistyped.stderr
    one_answer = outbound("runs", "resolve", "latest", "reserve[0]", "reserve[1]", "--answer",
                          str(tmp_path / "report.json"))
    assert one_answer.stderr == ("error: --answer FILE is one write's answer: give one item "
                                 "with it\n")
    left_out = outbound("runs", "resolve", "latest", "reserve[0]", "reserve[1]", "--skip")
    assert left_out.exit_code == 0, left_out.output  # reserve[0] too: the mistyped one settled none
    assert len(left_out.stdout.splitlines()) == 2
    assert outbound(*scheduled).exit_code == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["outputs"]["reserved"] == 2  # of the four running tasks' customers


def test_a_quiet_resume_latest_prints_the_last_line_unless_another_run_is_left(
        in_repo: Path, tmp_path: Path) -> None:
    """A cron job's mail stays empty of what happens each time; a run of other inputs left
    unfinished is still said."""
    playbook = "playbooks/speech-callbacks.yaml"
    bad, good, later = tmp_path / "bad.yaml", tmp_path / "good.yaml", tmp_path / "later.yaml"
    bad.write_text('campaign_id: "404"\n')
    good.write_text('campaign_id: "2201"\n')
    later.write_text('campaign_id: "2201"\nlead_minutes: 20\n')

    def scheduled(inputs: Path) -> Any:
        return outbound("run", playbook, "--sim", "-q", "--vars-file", str(inputs), "--resume",
                        "latest")

    first = scheduled(good)
    assert (first.exit_code, first.stdout) == (0, first.stdout.splitlines()[-1] + "\n")
    assert first.stdout.startswith("run ok in ")
    failed = outbound("run", playbook, "--sim", "-q", "--vars-file", str(bad))
    assert failed.exit_code == 1
    failed_id = json.loads(outbound("runs", "list", "--format", "json").stdout)[0]["run_id"]
    again = scheduled(good)
    assert again.exit_code == 0
    assert again.stdout.endswith("already finished; nothing to do (other inputs start a new "
                                 "run, as does leaving out --resume; run "
                                 f"{failed_id} is unfinished, with other inputs)\n")
    anew = scheduled(later)
    assert anew.exit_code == 0
    notice, last = anew.stdout.splitlines()
    assert notice == ("no run of this playbook with these inputs to resume; "
                      f"starting a new run (run {failed_id} is unfinished, with other inputs)")
    assert last.startswith("run ok in ")


def test_a_create_resent_on_resume_carries_its_secret_not_the_mask(
        in_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal holds the request masked; what is sent again is the real value."""
    monkeypatch.setenv("OUTBOUND_TEST_REMARK", "remark-secret-7f3a")
    playbook = tmp_path / "with-secret.yaml"
    playbook.write_text((ROOT / PLAYBOOK).read_text(encoding="utf-8").replace(
        "appointTime: \"{{ now_ms() + 3600000 }}\"}",
        "appointTime: \"{{ now_ms() + 3600000 }}\", "
        "remark: \"{{ secret('OUTBOUND_TEST_REMARK') }}\"}"))
    faults = tmp_path / "faults.yaml"
    faults.write_text(f"seed: 1\nfaults: [{{kind: reset_before, on: {CREATE}, times: 1}}]\n")
    journal_path = tmp_path / "journal.sqlite"
    first = outbound("run", str(playbook), "--sim", "--sim-faults", str(faults), "--journal",
                     str(journal_path), "--var", "count=1")
    assert first.exit_code == 1 and "the outcome is unknown" in first.stderr, first.output
    run_id = _run_id(first.stdout)
    with closing(sqlite3.connect(journal_path)) as db:
        (journalled,), = db.execute("SELECT params FROM calls WHERE kind = 'create'")
    assert json.loads(journalled)["remark"] == "[redacted]"

    loaded = load_playbook(playbook)
    journal = Journal(journal_path)
    recorded = journal.recorded(run_id)
    journal.reopen(run_id)
    sent: list[Exchange] = []
    result = asyncio.run(execute(loaded, recorded.inputs, lambda event: None, simulate=True,
                                 journal=journal, resume=recorded, run_id=run_id,
                                 observe=sent.append))
    journal.close()
    assert result.status == "ok", result.error
    creates = [json.loads(e.request.content) for e in sent if e.request.endpoint.kind == "create"]
    assert [body["remark"] for body in creates] == ["remark-secret-7f3a"]
