"""Each step feature and guard, against a small scriptable vendor over httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import json
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from runner.clock import SimulatedClock
from runner.engine.events import Event, Warned
from runner.engine.executor import RunResult
from runner.engine.items import Shard
from runner.engine.launch import execute
from runner.errors import FileError
from runner.journal import Journal
from runner.playbook import Playbook, load_playbook, resolve_inputs
from tests.conftest import DATA, outbound
from tests.vendor import ScriptedVendor

SPEC = DATA / "specs" / "testvendor.yaml"


def run_steps(tmp_path: Path, vendor: ScriptedVendor, steps: str, *, inputs: str = "",
              outputs: str = "") -> tuple[RunResult, list[Event]]:
    text = (f"playbook_version: 1\nname: test\nservices:\n"
            f"  v: {{spec: {SPEC}, base_url: 'http://vendor.test'}}\n"
            + (f"inputs:\n{inputs}" if inputs else "") + f"steps:\n{steps}"
            + (f"outputs:\n{outputs}" if outputs else ""))
    path = tmp_path / "playbook.yaml"
    path.write_text(text, encoding="utf-8")
    playbook = load_playbook(path)
    events: list[Event] = []
    result = asyncio.run(execute(playbook, resolve_inputs(playbook, {}), events.append,
                                 transport=httpx.ASGITransport(app=vendor),
                                 clock=SimulatedClock()))
    return result, events


def warnings(events: list[Event]) -> list[str]:
    return [e.message for e in events if isinstance(e, Warned)]


LIST_ALL = """\
  - id: all
    call: v.items.list
    params: {limit: 3}
    paginate: all
"""
ITEMS = "  ids: \"{{ steps.all.items | map(attribute='id') | list }}\"\n"


def test_paging_stops_when_the_total_is_reached(tmp_path: Path) -> None:
    vendor = ScriptedVendor(total=6)
    result, _ = run_steps(tmp_path, vendor, LIST_ALL, outputs=ITEMS)
    assert result.outputs == {"ids": [0, 1, 2, 3, 4, 5]}
    assert vendor.calls["GET items"] == 2  # no third request for an empty page


def test_paging_stops_at_a_short_page(tmp_path: Path) -> None:
    vendor = ScriptedVendor(total=7, report_total=False)
    result, _ = run_steps(tmp_path, vendor, LIST_ALL, outputs=ITEMS)
    assert result.outputs["ids"] == list(range(7))
    assert vendor.calls["GET items"] == 3


def test_paging_stops_at_an_empty_page(tmp_path: Path) -> None:
    vendor = ScriptedVendor(total=6, report_total=False)
    result, _ = run_steps(tmp_path, vendor, LIST_ALL, outputs=ITEMS)
    assert result.outputs["ids"] == list(range(6))
    assert vendor.calls["GET items"] == 3


DETAIL_STEP = "  - id: job\n    call: v.job.detail\n    params: {jobId: j1}\n"


def test_a_repeating_page_stops_paging_with_a_warning(tmp_path: Path) -> None:
    vendor = ScriptedVendor(total=9, ignore_offset=True)
    result, events = run_steps(tmp_path, vendor, LIST_ALL, outputs=ITEMS)
    assert result.status == "ok"
    assert result.outputs["ids"] == [0, 1, 2]
    assert vendor.calls["GET items"] == 2
    assert warnings(events) == ["page 2 of testvendor.items.list repeats the page before it; "
                                "stopped paging (the vendor may be ignoring the page position)"]


def test_max_pages_stops_a_list_that_never_ends(tmp_path: Path) -> None:
    vendor = ScriptedVendor(always_full=True)
    steps = LIST_ALL.replace("paginate: all", "paginate: {max_pages: 4}")
    result, _ = run_steps(tmp_path, vendor, steps, outputs=ITEMS)
    assert vendor.calls["GET items"] == 4
    assert result.exit_code == 1
    assert str(result.error) == (
        "step all: testvendor.items.list: still more after max_pages=4 pages (12 items); the "
        "list would be incomplete. If it is really this long, raise paginate.max_pages")


def test_a_page_with_more_items_than_asked_is_an_error(tmp_path: Path) -> None:
    vendor = ScriptedVendor(always_full=True, page_bonus=2)
    result, _ = run_steps(tmp_path, vendor, LIST_ALL)
    assert result.exit_code == 1
    assert str(result.error) == ("step all: testvendor.items.list: page 1 has 5 items, more "
                                 "than the 3 asked for (the vendor ignores the page size)")


def test_a_retry_after_of_a_week_fails_at_once(tmp_path: Path) -> None:
    vendor = ScriptedVendor(detail_status=429, retry_after="604800")
    result, _ = run_steps(tmp_path, vendor, DETAIL_STEP)
    assert result.exit_code == 1
    assert vendor.calls["GET jobs"] == 1
    assert str(result.error).splitlines()[-1] == (
        "  Retry-After asks for 604800s, more than the 120s the engine waits; try again later "
        "(with --resume)")


def test_an_answer_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    vendor = ScriptedVendor(total=5000)
    steps = LIST_ALL.replace("limit: 3", "limit: 100")
    path = tmp_path / "p.yaml"
    path.write_text(f"playbook_version: 1\nname: t\nservices:\n  v: {{spec: {SPEC}, "
                    f"base_url: 'http://vendor.test', max_response: 1KB}}\nsteps:\n{steps}",
                    encoding="utf-8")
    result = asyncio.run(execute(load_playbook(path), {}, lambda e: None,
                                 transport=httpx.ASGITransport(app=vendor),
                                 clock=SimulatedClock()))
    assert result.exit_code == 1
    assert "answered more than 1024 bytes (max_response); refused" in str(result.error)


POLL = """\
  - id: job
    call: v.job.detail
    params: {jobId: j1}
    retry: {until: "{{ response.state == 'done' }}", fail_when: "{{ response.state == 'failed' }}",
            attempts: ATTEMPTS, delay: 10s, backoff: 2}
    outputs: {state: "{{ response.state }}"}
"""


def test_retry_polls_until_the_condition_holds(tmp_path: Path) -> None:
    vendor = ScriptedVendor(pending_polls=2)
    result, _ = run_steps(tmp_path, vendor, POLL.replace("ATTEMPTS", "5"),
                          outputs="  state: \"{{ steps.job.outputs.state }}\"\n")
    assert result.outputs == {"state": "done"}
    assert vendor.calls["GET jobs"] == 3


def test_retry_gives_up_after_its_attempts(tmp_path: Path) -> None:
    vendor = ScriptedVendor(pending_polls=10)
    result, _ = run_steps(tmp_path, vendor, POLL.replace("ATTEMPTS", "3"))
    assert result.exit_code == 1
    assert vendor.calls["GET jobs"] == 3
    assert str(result.error).endswith(
        "retry.until was still false after 3 attempts: {{ response.state == 'done' }} "
        "(compared: 'pending' == 'done')")
    assert str(result.error).startswith("step job: ")


def test_a_retry_that_gave_up_on_vendor_errors_says_so(tmp_path: Path) -> None:
    vendor = ScriptedVendor(detail_codes=["9"] * 3)  # "does not exist" (yet): polled again
    result, _ = run_steps(tmp_path, vendor, POLL.replace("ATTEMPTS", "3"))
    assert vendor.calls["GET jobs"] == 3
    assert str(result.error) == ("step job, retry gave up after 3 attempts: testvendor.job.detail "
                                 "answered 9: the job does not exist (the vendor says: not now)")


@pytest.mark.parametrize(("status", "calls"), [(401, 1), (403, 1), (400, 1), (404, 3)])
def test_a_poll_stops_at_an_answer_asking_again_cannot_change(tmp_path: Path, status: int,
                                                               calls: int) -> None:
    """Credentials refused or a request called malformed would fail every poll the same way
    (every minute, for half an hour); a 404 may be a 'not yet', polled on."""
    vendor = ScriptedVendor(detail_status=status)
    result, _ = run_steps(tmp_path, vendor, POLL.replace("ATTEMPTS", "3"))
    assert result.exit_code == 1
    assert vendor.calls["GET jobs"] == calls
    said = ("retry stopped at attempt 1 of 3 (asking again cannot change this answer)"
            if calls == 1 else "retry gave up after 3 attempts")
    assert str(result.error).startswith(f"step job, {said}: testvendor.job.detail answered "
                                        f"HTTP {status}: ")


def test_a_poll_stops_at_a_code_the_spec_calls_final(tmp_path: Path) -> None:
    vendor = ScriptedVendor(detail_codes=["9", "10", "9"])  # not yet; then malformed: final
    result, _ = run_steps(tmp_path, vendor, POLL.replace("ATTEMPTS", "5"))
    assert vendor.calls["GET jobs"] == 2
    assert str(result.error) == (
        "step job, retry stopped at attempt 2 of 5 (asking again cannot change this answer): "
        "testvendor.job.detail answered 10: the job id is malformed (the vendor says: not now)")


def test_fail_when_stops_retrying_early(tmp_path: Path) -> None:
    vendor = ScriptedVendor(pending_polls=1, final_state="failed")
    result, _ = run_steps(tmp_path, vendor, POLL.replace("ATTEMPTS", "9"))
    assert result.exit_code == 1
    assert vendor.calls["GET jobs"] == 2
    assert str(result.error).endswith("retry.fail_when became true: {{ response.state == "
                                      "'failed' }} (compared: 'failed' == 'failed')")


def test_reads_are_retried_on_a_retryable_result_code(tmp_path: Path) -> None:
    vendor = ScriptedVendor(detail_codes=["7", "8"], pending_polls=0)
    steps = "  - id: job\n    call: v.job.detail\n    params: {jobId: j1}\n"
    result, _ = run_steps(tmp_path, vendor, steps)
    assert result.status == "ok"
    assert vendor.calls["GET jobs"] == 3


def test_a_vendor_error_says_the_documented_meaning(tmp_path: Path) -> None:
    vendor = ScriptedVendor(detail_codes=["9"])
    steps = "  - id: job\n    call: v.job.detail\n    params: {jobId: j1}\n"
    result, _ = run_steps(tmp_path, vendor, steps)
    assert result.exit_code == 1
    assert str(result.error) == ("step job: testvendor.job.detail answered 9: the job does not "
                                 "exist (the vendor says: not now)")


def test_a_create_is_never_resent_after_a_server_error(tmp_path: Path) -> None:
    vendor = ScriptedVendor(create_status=500)
    steps = "  - id: make\n    call: v.job.create\n    params: {name: a}\n"
    result, _ = run_steps(tmp_path, vendor, steps)
    assert result.exit_code == 1
    assert vendor.calls["POST jobs"] == 1
    assert "testvendor.job.create answered HTTP 500: a server error" in str(result.error)


def test_reading_the_outputs_of_a_skipped_step_says_it_was_skipped(tmp_path: Path) -> None:
    steps = (LIST_ALL + "    when: \"{{ false }}\"\n"
             "    outputs: {first: \"{{ items[0].id }}\"}\n")
    result, _ = run_steps(tmp_path, ScriptedVendor(), steps, outputs=(
        "  kept: \"{{ steps.all.outputs.first | default('none') }}\"\n"))
    assert result.status == "ok" and result.outputs == {"kept": "none"}
    result, _ = run_steps(tmp_path, ScriptedVendor(), steps,
                          outputs="  first: \"{{ steps.all.outputs.first }}\"\n")
    assert result.status == "failed"
    assert str(result.error).endswith(
        "(outputs.first): no output 'first': the step was skipped (its when was false); give "
        "a fallback with | default(...), or test the step's skipped in "
        "'{{ steps.all.outputs.first }}'")


FAN_OUT = """\
  - id: make
    for_each: "{{ inputs.names }}"
    as: name
    concurrency: 3
    when: "{{ not name.startswith('skip') }}"
    call: v.job.create
    params: {name: "{{ name }}"}
    outputs: {id: "{{ values.jobId }}", name: "{{ name }}"}
"""
NAMES = ("  names: {type: array, default: [a, b, skip1, c, d, e, skip2, f, g]}\n")


def test_for_each_runs_each_item_with_when_and_bounded_concurrency(tmp_path: Path) -> None:
    vendor = ScriptedVendor()
    result, _ = run_steps(tmp_path, vendor, FAN_OUT, inputs=NAMES,
                          outputs="  made: \"{{ steps.make.outputs | map(attribute='name') "
                                  "| list }}\"\n")
    assert result.outputs == {"made": ["a", "b", "c", "d", "e", "f", "g"]}
    assert sorted(b["name"] for b in vendor.bodies) == ["a", "b", "c", "d", "e", "f", "g"]
    assert vendor.max_in_flight == 3
    assert result.steps["make"].skipped == 2


def test_a_request_outside_its_rule_is_never_sent(tmp_path: Path) -> None:
    vendor = ScriptedVendor()
    inputs = "  names: {type: array, default: [ok, much-too-long-name]}\n"
    result, _ = run_steps(tmp_path, vendor, FAN_OUT.replace("concurrency: 3", "concurrency: 1"),
                          inputs=inputs)
    assert result.exit_code == 1  # "ok" was made: the run failed (2 would say nothing was sent)
    assert str(result.error) == ("step make, iteration 1: testvendor.job.create param name: "
                                 "'much-too-long-name' is too long")
    assert [b["name"] for b in vendor.bodies] == ["ok"]


def test_a_header_param_with_a_line_break_is_never_sent(tmp_path: Path) -> None:
    vendor = ScriptedVendor()
    steps = ("  - id: job\n    call: v.job.detail\n"
             "    params: {jobId: j1, X-Trace: \"{{ inputs.trace }}\"}\n")
    inputs = "  trace: {type: string, default: \"t1\\r\\nX-Admin: yes\"}\n"
    result, _ = run_steps(tmp_path, vendor, steps, inputs=inputs)
    assert result.exit_code == 2
    assert str(result.error).endswith("testvendor.job.detail param X-Trace: a header's value "
                                      "cannot hold a line break")
    assert not vendor.calls


def test_a_header_param_that_is_not_ascii_is_never_sent(tmp_path: Path) -> None:
    """It broke the HTTP client (an internal error); `| urlencode` makes it sendable."""
    vendor = ScriptedVendor()
    steps = ("  - id: job\n    call: v.job.detail\n"
             "    params: {jobId: j1, X-Trace: \"{{ inputs.trace }}\"}\n")
    inputs = "  trace: {type: string, default: 张三}\n"
    result, _ = run_steps(tmp_path, vendor, steps, inputs=inputs)
    assert result.exit_code == 2
    assert str(result.error).endswith(
        "testvendor.job.detail param X-Trace: a header's value is ASCII text, and '张三' is "
        "not (`| urlencode` in the template percent-encodes it, if the vendor reads it so)")
    assert not vendor.calls
    encoded, _ = run_steps(tmp_path, vendor, steps.replace("trace }}", "trace | urlencode }}"),
                           inputs=inputs)
    assert encoded.exit_code == 0, encoded.error
    assert vendor.headers[-1]["x-trace"] == "%E5%BC%A0%E4%B8%89"


def test_expect_collects_every_failed_expectation(tmp_path: Path) -> None:
    steps = ("  - id: job\n    call: v.job.detail\n    params: {jobId: j1}\n"
             "    expect: [\"{{ response.state == 'done' }}\", \"{{ status == 201 }}\", "
             "\"{{ response.code == '0' }}\"]\n")
    result, _ = run_steps(tmp_path, ScriptedVendor(pending_polls=5), steps)
    assert result.exit_code == 1
    lines = str(result.error).splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("expectation failed: {{ response.state == 'done' }} "
                             "(compared: 'pending' == 'done')")  # what each side was
    assert lines[1].endswith("expectation failed: {{ status == 201 }} (compared: 200 == 201)")


def test_an_invalid_response_names_the_json_path(tmp_path: Path) -> None:
    result, _ = run_steps(tmp_path, ScriptedVendor(total=2, bad_type=True), LIST_ALL)
    assert result.exit_code == 1
    assert str(result.error).startswith("step all: testvendor.items.list response "
                                        "(items[0].id): '0' is not of type 'integer'")


def test_an_invalid_response_can_be_downgraded_to_a_warning(tmp_path: Path) -> None:
    steps = LIST_ALL + "    invalid_response: warn\n"
    result, events = run_steps(tmp_path, ScriptedVendor(total=1, bad_type=True), steps)
    assert result.status == "ok"
    assert warnings(events) == ["testvendor.items.list response (items[0].id): "
                                "'0' is not of type 'integer'"]


def test_an_undefined_name_at_run_time_is_a_clear_error(tmp_path: Path) -> None:
    # a field named at run time: what validate cannot check against the response schema
    steps = ("  - id: job\n    call: v.job.detail\n    params: {jobId: j1}\n"
             "    outputs: {x: \"{{ response[inputs.field] }}\"}\n")
    inputs = "  field: {type: string, default: no_such_field}\n"
    result, _ = run_steps(tmp_path, ScriptedVendor(), steps, inputs=inputs)
    assert result.exit_code == 1  # the run failed, not its input: the call had been made
    assert "no key 'no_such_field' here (the keys: " in str(result.error)
    assert str(result.error).startswith("step job: ")


def test_a_playbook_output_failing_after_the_calls_fails_the_run(tmp_path: Path) -> None:
    outputs = "  third: \"{{ steps.all.items[7].id }}\"\n"  # the list has 5 items
    result, _ = run_steps(tmp_path, ScriptedVendor(), LIST_ALL, outputs=outputs)
    assert result.exit_code == 1  # not 2 (nothing sent): the list had been read
    assert "list object has no element 7" in str(result.error)


def test_concurrent_waits_overlap_in_simulated_time(tmp_path: Path) -> None:
    """Four items waiting a minute at once take a minute, as they would for real."""
    clock = SimulatedClock(start=1000.0)
    path = tmp_path / "p.yaml"
    path.write_text(f"playbook_version: 1\nname: w\nservices:\n  v: {{spec: {SPEC}}}\n"
                    "steps:\n  - id: pause\n    for_each: '{{ range(4) | list }}'\n"
                    "    concurrency: 4\n    wait: 1m\n", encoding="utf-8")
    result = asyncio.run(execute(load_playbook(path), {}, lambda e: None, simulate=True,
                                 clock=clock))
    assert result.status == "ok"
    assert clock.now() == pytest.approx(1060.0, abs=0.5)


def test_simulated_sleepers_wake_in_the_order_of_their_deadlines() -> None:
    clock = SimulatedClock(start=0.0)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, *waits: float) -> None:
        for seconds in waits:
            await clock.sleep(seconds)
            woke.append((name, round(clock.now())))

    async def main() -> None:
        await asyncio.gather(sleeper("a", 30, 30), sleeper("b", 10, 10, 10, 10))

    asyncio.run(main())
    assert woke == [("b", 10), ("b", 20), ("a", 30), ("b", 30), ("b", 40), ("a", 60)]


@pytest.mark.parametrize(("value", "seconds"), [("10s", 10), ("2m", 120), (1.5, 1.5)])
def test_wait_moves_simulated_time(tmp_path: Path, value: Any, seconds: float) -> None:
    clock = SimulatedClock(start=1000.0)
    path = tmp_path / "p.yaml"
    path.write_text(f"playbook_version: 1\nname: w\nservices:\n  v: {{spec: {SPEC}}}\n"
                    f"steps:\n  - id: pause\n    wait: {value}\n", encoding="utf-8")
    playbook = load_playbook(path)
    result = asyncio.run(execute(playbook, {}, lambda e: None, simulate=True, clock=clock))
    assert result.status == "ok"
    assert clock.now() == pytest.approx(1000.0 + seconds, abs=0.5)


def test_a_throttle_code_slows_the_whole_service(tmp_path: Path) -> None:
    clock = SimulatedClock(start=0.0)
    vendor = ScriptedVendor(detail_codes=["8"], pending_polls=0)
    path = tmp_path / "p.yaml"
    path.write_text(f"playbook_version: 1\nname: t\nservices:\n"
                    f"  v: {{spec: {SPEC}, base_url: 'http://vendor.test'}}\nsteps:\n"
                    "  - id: job\n    call: v.job.detail\n    params: {jobId: j1}\n"
                    "  - id: next\n    call: v.job.detail\n    params: {jobId: j2}\n",
                    encoding="utf-8")
    playbook = load_playbook(path)
    result = asyncio.run(execute(playbook, {}, lambda e: None,
                                 transport=httpx.ASGITransport(app=vendor), clock=clock))
    assert result.status == "ok"
    assert clock.now() >= 1.0  # the "too fast" answer held back every later call


def _rate_limited(tmp_path: Path, names: int, shard: Shard | None = None,
                  ) -> tuple[SimulatedClock, ScriptedVendor]:
    """A for_each creating a job per name at once against a service of `rate_limit: 2/s`,
    run on simulated time: its clock after, and the vendor."""
    clock, vendor = SimulatedClock(start=0.0), ScriptedVendor()
    path = tmp_path / "p.yaml"
    path.write_text(f"playbook_version: 1\nname: t\nservices:\n"
                    f"  v: {{spec: {SPEC}, base_url: 'http://vendor.test', rate_limit: 2/s}}\n"
                    f"inputs:\n  names: {{type: array, default: {list('abcdefgh'[:names])}}}\n"
                    "steps:\n" + FAN_OUT.replace("concurrency: 3", f"concurrency: {names}"),
                    encoding="utf-8")
    playbook = load_playbook(path)
    result = asyncio.run(execute(playbook, resolve_inputs(playbook, {}), lambda e: None,
                                 transport=httpx.ASGITransport(app=vendor), clock=clock,
                                 shard=shard))
    assert result.status == "ok"
    return clock, vendor


def test_a_rate_limit_spaces_the_calls_of_a_service(tmp_path: Path) -> None:
    clock, _ = _rate_limited(tmp_path, 5)
    assert clock.now() == pytest.approx(2.0, abs=0.1)  # five calls at two a second


def test_each_shard_keeps_its_share_of_a_services_rate_limit(tmp_path: Path) -> None:
    """Shard jobs run side by side against one vendor: two at 2/s each would send 4/s."""
    clock, vendor = _rate_limited(tmp_path, 8, Shard(1, 2))
    sent = vendor.calls["POST jobs"]
    assert 1 < sent < 8  # its share
    assert clock.now() == pytest.approx(sent - 1, abs=0.1)  # one a second: half of 2/s


STREAM = """\
  - id: all
    call: v.items.list
    params: {limit: 10}
    paginate: {stream: true}
  - id: make
    for_each: "{{ steps.all.items }}"
    as: item
    concurrency: 4
    call: v.job.create
    params: {name: "{{ 'n' ~ item.id }}"}
    outputs: {id: "{{ values.jobId }}"}
"""


def test_a_streamed_list_feeds_its_for_each_page_by_page(tmp_path: Path) -> None:
    vendor = ScriptedVendor(total=25)
    result, _ = run_steps(tmp_path, vendor, STREAM,
                          outputs="  made: \"{{ steps.make.outputs | length }}\"\n")
    assert result.outputs == {"made": 25}
    assert sorted(int(b["name"][1:]) for b in vendor.bodies) == list(range(25))
    assert vendor.calls["GET items"] == 3
    assert result.steps["all"].calls == 3 and result.steps["all"].iterations == 25


def test_a_streamed_list_step_is_journalled_as_a_step(tmp_path: Path) -> None:
    result, run_id = _journalled_run(tmp_path, ScriptedVendor(total=25), STREAM)
    assert result.status == "ok"
    with closing(Journal(tmp_path / "journal.sqlite", reader=True)) as reader:
        shown = reader.run(run_id)
    assert [(s["step"], s["status"], s["calls"], s["iterations"]) for s in shown["steps"]] == [
        ("all", "ok", 3, 25), ("make", "ok", 25, 25)]


LISTED = (STREAM[STREAM.index("  - id: make"):].replace("steps.all.items", "range(100) | list")
          .replace("item.id", "item"))


@pytest.mark.parametrize("steps", [LISTED, STREAM], ids=["listed", "streamed"])
def test_ctrl_c_stops_a_for_each_at_once(tmp_path: Path, steps: str) -> None:
    """Ctrl-C and SIGTERM cancel the run's task: no new item starts, and the steps it was in,
    the streamed list too, are journalled as interrupted."""
    vendor = ScriptedVendor(total=100)
    playbook = _playbook_of(tmp_path, steps)
    journal = Journal(tmp_path / "journal.sqlite")
    journal.begin("run-1", playbook.name, playbook.file, "-", {}, None)

    async def cancelled_as_the_twelfth_create_is_answered() -> None:
        run: asyncio.Task[RunResult]

        async def vendor_then_ctrl_c(scope: Any, receive: Any, send: Any) -> None:
            await vendor(scope, receive, send)
            if vendor.calls["POST jobs"] == 12:
                run.cancel()

        run = asyncio.create_task(execute(
            playbook, {}, lambda event: None, journal=journal,
            transport=httpx.ASGITransport(app=vendor_then_ctrl_c)))  # type: ignore[arg-type]
        with pytest.raises(asyncio.CancelledError):
            await run

    asyncio.run(cancelled_as_the_twelfth_create_is_answered())
    journal.close()
    assert 12 <= vendor.calls["POST jobs"] <= 12 + 4  # and those in flight
    with closing(Journal(tmp_path / "journal.sqlite", reader=True)) as reader:
        shown = reader.run("run-1")
    assert [(s["step"], s["status"]) for s in shown["steps"]] == (
        [("make", "interrupted")] if steps == LISTED
        else [("all", "interrupted"), ("make", "interrupted")])


def test_a_stream_fetches_pages_only_as_items_are_needed(tmp_path: Path) -> None:
    vendor = ScriptedVendor(total=1000)
    steps = STREAM.replace("'n' ~ item.id", "'n' * item.id").replace("concurrency: 4",
                                                                       "concurrency: 1")
    result, _ = run_steps(tmp_path, vendor, steps)
    assert result.exit_code == 1  # item 11 renders a name longer than the spec allows
    assert "iteration 11: testvendor.job.create param name:" in str(result.error)
    assert vendor.calls["GET items"] == 2  # not the 100 pages of the whole list


def test_a_streamed_list_cannot_be_read_elsewhere(tmp_path: Path) -> None:
    steps = STREAM + "    when: \"{{ steps.all.items | length > 0 }}\"\n"
    with pytest.raises(FileError) as caught:
        run_steps(tmp_path, ScriptedVendor(), steps)
    assert str(caught.value).endswith(
        "(steps[0].paginate.stream): step 'all' is streamed, so exactly one for_each must "
        "read it, as \"{{ steps.all.items }}\", and nothing else (its items are not kept)")


DETAIL = "  - id: job\n    call: v.job.detail\n    params: {jobId: j1}\n"


@pytest.mark.parametrize(("status", "meaning"), [
    (401, "authentication failed: the vendor rejected the credentials or the signature"),
    (403, "forbidden: the vendor refuses this caller (an IP allow-list, or missing rights)"),
    (404, "not found: this path does not exist there (is base_url right?)"),
    (429, "rate limited: the vendor asks for fewer requests"),
    (503, "a server error"),
])
def test_each_http_error_status_says_what_it_means(tmp_path: Path, status: int,
                                                   meaning: str) -> None:
    vendor = ScriptedVendor(detail_status=status, retry_after="1")
    result, _ = run_steps(tmp_path, vendor, DETAIL)
    assert result.exit_code == 1
    retried = status in (429, 503)
    tried = ", tried 4 times" if retried else ""
    assert str(result.error) == (f"step job{tried}: testvendor.job.detail answered HTTP "
                                 f"{status}: {meaning}; body: '<html>nope</html>'")
    assert vendor.calls["GET jobs"] == (4 if retried else 1)


class FlakyNetwork(httpx.AsyncBaseTransport):
    """The real test vendor behind a network that fails the first requests in a given way."""

    def __init__(self, vendor: ScriptedVendor, failure: type[httpx.TransportError],
                 failures: int) -> None:
        self.inner = httpx.ASGITransport(app=vendor)
        self.failure = failure
        self.failures = failures

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.failures:
            self.failures -= 1
            if self.failure is not httpx.ConnectError:  # it reached the server, then failed
                await self.inner.handle_async_request(request)
            raise self.failure("simulated network failure", request=request)
        return await self.inner.handle_async_request(request)


def run_over(network: FlakyNetwork, tmp_path: Path, steps: str) -> RunResult:
    path = tmp_path / "p.yaml"
    path.write_text(f"playbook_version: 1\nname: t\nservices:\n"
                    f"  v: {{spec: {SPEC}, base_url: 'http://vendor.test'}}\nsteps:\n{steps}",
                    encoding="utf-8")
    return asyncio.run(execute(load_playbook(path), {}, lambda e: None, transport=network,
                               clock=SimulatedClock()))


CREATE = "  - id: make\n    call: v.job.create\n    params: {name: a}\n"


def test_a_read_is_retried_after_the_connection_fails(tmp_path: Path) -> None:
    vendor = ScriptedVendor(pending_polls=0)
    result = run_over(FlakyNetwork(vendor, httpx.ReadError, 2), tmp_path, DETAIL)
    assert result.status == "ok"
    assert vendor.calls["GET jobs"] == 3


def test_a_create_whose_answer_was_lost_is_not_sent_again(tmp_path: Path) -> None:
    vendor = ScriptedVendor()
    result = run_over(FlakyNetwork(vendor, httpx.ReadError, 1), tmp_path, CREATE)
    assert result.exit_code == 1
    assert vendor.calls["POST jobs"] == 1
    assert str(result.error) == ("step make: testvendor.job.create: the connection failed "
                                 "(simulated network failure); the outcome is unknown")


def test_a_create_that_never_left_is_sent_again(tmp_path: Path) -> None:
    vendor = ScriptedVendor()
    result = run_over(FlakyNetwork(vendor, httpx.ConnectError, 2), tmp_path, CREATE)
    assert result.status == "ok"
    assert vendor.calls["POST jobs"] == 1


TOLERANT = """\
  - id: make
    for_each: "{{ inputs.names }}"
    as: name
    max_failures: LIMIT
    call: v.job.create
    params: {name: "{{ name }}"}
    outputs: {name: "{{ name }}"}
"""
SOME_BAD = "  names: {type: array, default: [a, bad-name-too-long, b, c, also-much-too-long, d]}\n"


def test_max_failures_lets_a_campaign_go_past_failed_items(tmp_path: Path) -> None:
    vendor = ScriptedVendor()
    result, _ = run_steps(tmp_path, vendor, TOLERANT.replace("LIMIT", "2"), inputs=SOME_BAD,
                          outputs="  made: \"{{ steps.make.outputs | map(attribute='name') "
                                  "| list }}\"\n")
    assert result.status == "partial" and result.exit_code == 1
    assert result.outputs == {"made": ["a", "b", "c", "d"]}
    assert [index for _, index, _ in result.failed_items] == [1, 4]
    lines = str(result.error).splitlines()
    assert lines[0] == "2 items failed within max_failures:"
    assert lines[1].startswith("  step make: iteration 1: testvendor.job.create param name: "
                               "'bad-name-too-long' is too long")


@pytest.mark.parametrize(("limit", "started"), [("1", 5), ("20%", 5)])
def test_past_max_failures_no_new_item_starts(tmp_path: Path, limit: str, started: int) -> None:
    vendor = ScriptedVendor()
    result, _ = run_steps(tmp_path, vendor, TOLERANT.replace("LIMIT", f'"{limit}"'
                                                             if "%" in limit else limit),
                          inputs=SOME_BAD)
    assert result.status == "failed"
    assert [b["name"] for b in vendor.bodies] == ["a", "b", "c"]  # "d" never started
    assert str(result.error).splitlines()[0] == (
        f"step make: 2 items of 6 failed, more than max_failures ({limit}); no new item was "
        "started:")
    assert result.steps["make"].failed == 2


def _playbook_of(tmp_path: Path, steps: str) -> Playbook:
    """A playbook of `steps` calling the scripted vendor, written to tmp_path and loaded."""
    path = tmp_path / "playbook.yaml"
    path.write_text(f"playbook_version: 1\nname: test\nservices:\n"
                    f"  v: {{spec: {SPEC}, base_url: 'http://vendor.test'}}\nsteps:\n{steps}",
                    encoding="utf-8")
    return load_playbook(path)


def _journalled_run(tmp_path: Path, vendor: ScriptedVendor, steps: str,
                    resume: str | None = None) -> tuple[RunResult, str]:
    """A run of `steps` journalled to tmp_path/journal.sqlite, or a resume of run `resume`."""
    playbook = _playbook_of(tmp_path, steps)
    journal = Journal(tmp_path / "journal.sqlite")
    run_id = resume or "run-1"
    recorded = journal.recorded(resume) if resume else None
    if resume:
        journal.reopen(resume)
    else:
        journal.begin(run_id, playbook.name, playbook.file, "-", {}, None)
    try:
        result = asyncio.run(execute(playbook, {}, lambda e: None, journal=journal,
                                     resume=recorded, run_id=run_id, clock=SimulatedClock(),
                                     transport=httpx.ASGITransport(app=vendor)))
    finally:
        journal.close()
    return result, run_id


def test_an_action_with_an_unknown_outcome_is_not_sent_again_on_resume(tmp_path: Path) -> None:
    """Any write, not only a create: a 5xx may come after the vendor acted."""
    steps = "  - id: cancel\n    call: v.job.cancel\n    params: {jobId: j1}\n"
    vendor = ScriptedVendor(cancel_status=502)
    failed, run_id = _journalled_run(tmp_path, vendor, steps)
    assert failed.exit_code == 1, failed.error
    vendor.cancel_status = 200
    resumed, _ = _journalled_run(tmp_path, vendor, steps, resume=run_id)
    assert vendor.calls["POST jobs"] == 1  # sent once, never again
    assert resumed.exit_code == 1
    assert str(resumed.error).startswith("step cancel: an earlier")  # said once, not twice
    assert ("an earlier testvendor.job.cancel was sent and its outcome is unknown, and the spec "
            "has no reconcile to find out; look it up with the vendor (outbound runs show run-1 "
            "has the request), then say what happened: outbound runs resolve run-1 cancel "
            "--not-sent | --answer FILE | --skip, and resume") in str(resumed.error)


CANCEL = ("  - id: cancel\n    call: v.job.cancel\n    params: {jobId: j1}\n"
          "    outputs: {code: \"{{ response.code }}\"}\n"
          "outputs: {code: \"{{ steps.cancel.outputs.code | default('skipped') }}\"}\n")


def _unknown_cancel(tmp_path: Path) -> tuple[ScriptedVendor, str]:
    """A cancel whose outcome is unknown (a 502), resumed once: stopped, as no reconcile can
    look it up."""
    vendor = ScriptedVendor(cancel_status=502)
    _, run_id = _journalled_run(tmp_path, vendor, CANCEL)
    vendor.cancel_status = 200
    stopped, _ = _journalled_run(tmp_path, vendor, CANCEL, resume=run_id)
    assert "outbound runs resolve run-1 cancel" in str(stopped.error)
    return vendor, run_id


@pytest.mark.parametrize(("said", "sent", "code"), [
    (["--not-sent"], 2, "0"),  # sent again, and answered
    (["--answer", "ANSWER"], 1, "by-hand"),  # the answer given stands in for the vendor's
    (["--skip"], 1, "skipped"),
])
def test_a_write_resolved_by_hand_lets_the_resume_go_on(
        tmp_path: Path, said: list[str], sent: int, code: str) -> None:
    vendor, run_id = _unknown_cancel(tmp_path)
    journal = str(tmp_path / "journal.sqlite")
    shown = outbound("runs", "show", run_id, "--journal", journal).stdout
    assert '  cancel testvendor.job.cancel {"jobId": "j1"}' in shown.splitlines()
    answer = tmp_path / "answer.json"
    answer.write_text('{"code": "by-hand"}')
    args = [str(answer) if arg == "ANSWER" else arg for arg in said]
    resolved = outbound("runs", "resolve", run_id, "cancel", *args, "--journal", journal)
    assert resolved.exit_code == 0, resolved.output
    resumed, _ = _journalled_run(tmp_path, vendor, CANCEL, resume=run_id)
    assert resumed.status == "ok", resumed.error
    assert vendor.calls["POST jobs"] == sent
    finished = outbound("runs", "show", run_id, "--journal", journal, "--format", "json")
    document = json.loads(finished.stdout)
    assert document["unknown_writes"] == []
    assert resumed.outputs == {"code": code}
    assert [item["reason"] for item in document["left_out"]] == (
        ["resolved by hand: the item is left out of the run; its write's outcome was unknown"]
        if said == ["--skip"] else [])


def test_resolve_refuses_what_it_cannot_settle(tmp_path: Path) -> None:
    vendor, run_id = _unknown_cancel(tmp_path)
    journal = str(tmp_path / "journal.sqlite")
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"status": 1}')
    assert outbound("runs", "resolve", run_id, "cancel[2]", "--skip", "--journal",
                    journal).stderr == (f"error: run {run_id} has no write of unknown outcome at "
                                        "cancel[2] (those it has: cancel), nor an item "
                                        "that failed there\n")
    for said in ([], ["--not-sent", "--skip"]):
        assert outbound("runs", "resolve", run_id, "cancel", *said, "--journal",
                        journal).stderr == ("error: say what happened: one of --not-sent, "
                                            "--answer FILE, --skip\n")
    assert outbound("runs", "resolve", run_id, "cancel", "--answer", str(wrong), "--journal",
                    journal).exit_code == 0
    resumed, _ = _journalled_run(tmp_path, vendor, CANCEL, resume=run_id)
    assert resumed.exit_code == 1  # the answer given is not one the vendor could have sent
    assert str(resumed.error) == (  # where: the step, once, then the answer's field
        "step cancel: <input> (code): the answer given with runs resolve --answer is not a "
        "testvendor.job.cancel response: 'code' is a required property")
    assert vendor.calls["POST jobs"] == 1


def test_an_action_answered_ok_is_not_sent_again_when_its_step_failed_after(
        tmp_path: Path) -> None:
    broken = ("  - id: cancel\n    call: v.job.cancel\n    params: {jobId: j1}\n"
              "    outputs: {x: \"{{ response[status | string].x }}\"}\n")  # named at run time
    vendor = ScriptedVendor()
    failed, run_id = _journalled_run(tmp_path, vendor, broken)
    assert failed.exit_code == 1
    mended = broken.replace("response[status | string].x", "response.code")
    resumed, _ = _journalled_run(tmp_path, vendor, mended, resume=run_id)
    assert resumed.status == "ok", resumed.error
    assert vendor.calls["POST jobs"] == 1


def test_a_retry_on_any_write_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"playbook_version: 1\nname: r\nservices:\n  v: {{spec: {SPEC}}}\nsteps:\n"
                    "  - id: cancel\n    call: v.job.cancel\n    params: {jobId: j1}\n"
                    "    retry: {until: \"{{ response.code == '0' }}\"}\n", encoding="utf-8")
    with pytest.raises(FileError) as raised:
        load_playbook(path)
    assert str(raised.value).endswith("(steps[0].retry): testvendor.job.cancel (action) cannot "
                                      "retry: a write is never re-sent blindly (an unconfirmed "
                                      "one is reconciled instead)")
