"""A for_each's `key`: --resume matching items by key where the list, read again, has moved
(a streamed one); repeats skipped; shards split by it; items named by it in errors and
reports; and the checks before a run."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from runner.clock import SimulatedClock
from runner.engine.events import Event, IterationFinished, Warned
from runner.engine.executor import RunResult
from runner.engine.items import Shard
from runner.engine.keys import item_rules
from runner.engine.launch import execute
from runner.journal import Journal
from runner.playbook import load_playbook
from runner.reporting.console import ConsoleReporter
from tests.conftest import DATA, ROOT, isales_playbook, outbound, values
from tests.vendor import ScriptedVendor

KEYED_STREAM = """\
playbook_version: 1
name: keyed
services:
  v: {spec: %s, base_url: 'http://vendor.test'}
steps:
  - id: all
    call: v.items.list
    params: {limit: 3}
    paginate: {stream: true}
  - id: make
    for_each: "{{ steps.all.items }}"
    key: "{{ item.id }}"
    call: v.job.create
    params: {name: "{{ 'n' ~ item.id }}"}
    outputs: {id: "{{ item.id }}"}
outputs:
  made: "{{ steps.make.outputs | map(attribute='id') | sort | list }}"
""" % (DATA / "specs" / "testvendor.yaml")


def attempt(tmp_path: Path, vendor: ScriptedVendor, *, resume: bool = False,
            max_creates: int | None = None, playbook: str = KEYED_STREAM,
            shard: Shard | None = None) -> tuple[RunResult, list[Event]]:
    """Run (or resume) run-1 of `playbook`, journalled to tmp_path/journal.sqlite."""
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "playbook.yaml"
    path.write_text(playbook, encoding="utf-8")
    loaded = load_playbook(path)
    journal = Journal(tmp_path / "journal.sqlite")
    recorded = journal.recorded("run-1") if resume else None
    if resume:
        journal.reopen("run-1")
    else:
        journal.begin("run-1", loaded.name, loaded.file, "-", {}, str(shard) if shard else None,
                      *item_rules(loaded))
    events: list[Event] = []
    try:
        result = asyncio.run(execute(loaded, {}, events.append, journal=journal,
                                     resume=recorded, run_id="run-1", clock=SimulatedClock(),
                                     max_creates=max_creates, shard=shard,
                                     transport=httpx.ASGITransport(app=vendor)))
    finally:
        journal.close()
    return result, events


def made(vendor: ScriptedVendor) -> list[str]:
    return [body["name"] for body in vendor.bodies]


def test_a_resume_finds_the_items_of_a_list_that_moved_by_their_key(tmp_path: Path) -> None:
    """Two tasks came in at the head of the list and one it had made left: matched by place,
    the resume would pass 100 and 101 as made (their places were) and make 3 again."""
    vendor = ScriptedVendor(ids=list(range(10)))
    paused, _ = attempt(tmp_path, vendor, max_creates=4)
    assert paused.exit_code == 75, paused.error
    assert made(vendor) == ["n0", "n1", "n2", "n3"]
    vendor.ids = [100, 101, 0, 2, 3, 4, 5, 6, 7, 8, 9]
    resumed, _ = attempt(tmp_path, vendor, resume=True)
    assert resumed.status == "ok", resumed.error
    assert made(vendor)[4:] == ["n100", "n101", "n4", "n5", "n6", "n7", "n8", "n9"]
    # item 1 was made before, and counts though the list no longer has it
    assert resumed.outputs["made"] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 101]


def test_a_resume_after_a_resume_still_knows_each_item(tmp_path: Path) -> None:
    """Items new to a resume are numbered past the earlier ones, and their keys kept too."""
    vendor = ScriptedVendor(ids=[0, 1, 2, 3])
    attempt(tmp_path, vendor, max_creates=2)
    vendor.ids = [50, 0, 1, 2, 3]
    attempt(tmp_path, vendor, resume=True, max_creates=2)  # 50 and 2
    vendor.ids = [3, 2, 1, 0, 50, 60]
    resumed, _ = attempt(tmp_path, vendor, resume=True)
    assert resumed.status == "ok", resumed.error
    assert made(vendor) == ["n0", "n1", "n50", "n2", "n3", "n60"]
    assert resumed.outputs["made"] == [0, 1, 2, 3, 50, 60]
    with closing(Journal(tmp_path / "journal.sqlite", reader=True)) as reader:
        shown = reader.run("run-1")
    make = next(step for step in shown["steps"] if step["step"] == "make")
    assert (make["iterations"], make["succeeded"], make["failed"]) == (6, 6, 0)


def test_an_item_the_list_repeats_is_skipped_with_a_warning(tmp_path: Path) -> None:
    """An offset-paged list that moved while it was read shows an item on two pages."""
    vendor = ScriptedVendor(ids=[0, 1, 2, 2, 3, 1])
    result, events = attempt(tmp_path, vendor)
    assert result.status == "ok", result.error
    assert made(vendor) == ["n0", "n1", "n2", "n3"]
    assert [e.message for e in events if isinstance(e, Warned)] == [
        "iteration 3 (key 2): an earlier item had the same key (the list shows it again): "
        "skipped, not run twice",
        "iteration 5 (key 1): an earlier item had the same key (the list shows it again): "
        "skipped, not run twice"]
    assert result.steps["make"].skipped == 2 and result.steps["make"].succeeded == 4
    # what the progress counts: every item of the six, the repeats too
    assert [e.status for e in events if isinstance(e, IterationFinished)].count("skipped") == 2


def test_an_unknown_create_is_looked_for_at_its_own_item(tmp_path: Path) -> None:
    """Item 0's create went unanswered; on resume a new item holds its place, and must not
    take its unknown create (and the request it recorded) for its own."""
    vendor = ScriptedVendor(ids=[0, 1], create_status=502)
    failed, _ = attempt(tmp_path, vendor)
    assert failed.exit_code == 1 and made(vendor) == ["n0"]
    vendor.ids, vendor.create_status = [7, 0, 1], 200
    resumed, _ = attempt(tmp_path, vendor, resume=True)
    # 7 is made; 0 is not sent again (its outcome is unknown), and the step stops there
    assert made(vendor)[1:] == ["n7"]
    assert str(resumed.error).startswith(
        "step make, iteration 0 (key 0): an earlier testvendor.job.create was sent and its "
        "outcome is unknown")
    assert "outbound runs resolve run-1 make[0]" in str(resumed.error)
    # its operator finds the vendor never made it, and leaves it out; the list moves again
    resolved = outbound("runs", "resolve", "run-1", "make[0]", "--skip", "--journal",
                        str(tmp_path / "journal.sqlite"))
    assert resolved.exit_code == 0, resolved.output
    vendor.ids = [1, 0, 7]
    again, _ = attempt(tmp_path, vendor, resume=True)
    assert again.status == "ok", again.error
    assert made(vendor)[2:] == ["n1"]  # 0 left out by its key, 7 made already
    assert again.outputs["made"] == [1, 7]


@pytest.mark.parametrize(("old", "new", "said"), [
    ('    for_each: "{{ steps.all.items }}"\n', "",
     "(steps[1].key): 'key' works with for_each, which this step does not have"),
    ("item.id }}\"\n    call", "item.idd }}\"\n    call",
     "(steps[1].key): item.idd: an item of steps.all.items has no field 'idd'"),
], ids=["without for_each", "a field the item lacks"])
def test_a_key_is_checked_before_the_run(tmp_path: Path, old: str, new: str,
                                         said: str) -> None:
    path = tmp_path / "playbook.yaml"
    path.write_text(KEYED_STREAM.replace(old, new), encoding="utf-8")
    result = outbound("validate", str(path))
    assert result.exit_code == 2
    assert said in result.output


UNKEYED = KEYED_STREAM.replace('    key: "{{ item.id }}"\n', "")
RENAMED = KEYED_STREAM.replace('key: "{{ item.id }}"', 'key: "{{ item.id + 0 }}"')


@pytest.mark.parametrize(("first", "then", "said"), [
    (KEYED_STREAM, UNKEYED, "with key '{{ item.id }}', and the playbook's step 'make' now has "
                            "no key"),
    (KEYED_STREAM, RENAMED, "with key '{{ item.id }}', and the playbook's step 'make' now has "
                            "key '{{ item.id + 0 }}'"),
    (UNKEYED, KEYED_STREAM, "with no key, and the playbook's step 'make' now has key "
                            "'{{ item.id }}'"),
], ids=["dropped", "changed", "added"])
def test_a_resume_whose_playbook_changed_the_key_is_refused(tmp_path: Path, first: str,
                                                            then: str, said: str) -> None:
    """The items were placed by their key, or by their place: gone through by other rules
    now, each would be taken for another, and some made twice."""
    vendor = ScriptedVendor(ids=[0, 1, 2])
    attempt(tmp_path, vendor, max_creates=1, playbook=first)
    refused, _ = attempt(tmp_path, vendor, resume=True, playbook=then)
    assert refused.exit_code == 1
    assert str(refused.error) == (
        f"step make: the earlier attempts went through this for_each's items {said}: its "
        "items would be matched to others; resume with the playbook as it was, or start a new "
        "run")
    assert made(vendor) == ["n0"]


def test_a_resume_whose_key_was_only_respaced_goes_on(tmp_path: Path) -> None:
    vendor = ScriptedVendor(ids=[0, 1, 2])
    attempt(tmp_path, vendor, max_creates=1)
    respaced = KEYED_STREAM.replace('key: "{{ item.id }}"', 'key: "{{item.id}}"')
    resumed, _ = attempt(tmp_path, vendor, resume=True, playbook=respaced)
    assert resumed.status == "ok", resumed.error
    assert made(vendor) == ["n0", "n1", "n2"]


LISTED = UNKEYED.replace("paginate: {stream: true}", "paginate: all")  # kept, not streamed
REVERSED = LISTED.replace('for_each: "{{ steps.all.items }}"',
                          'for_each: "{{ steps.all.items | reverse | list }}"')


def test_a_resume_whose_playbook_changed_a_keyless_list_is_refused(tmp_path: Path) -> None:
    """Without a key, the items are matched to the earlier attempts' by place: through
    another list, each would be taken for another (here the first made would pass as the
    last, and be made again)."""
    vendor = ScriptedVendor(ids=[0, 1, 2])
    attempt(tmp_path, vendor, max_creates=1, playbook=LISTED)
    refused, _ = attempt(tmp_path, vendor, resume=True, playbook=REVERSED)
    assert refused.exit_code == 1
    assert str(refused.error) == (
        "step make: the earlier attempts went through the items of '{{ steps.all.items }}' "
        "by their place, and the playbook's step 'make' now goes through '{{ steps.all.items "
        "| reverse | list }}': its items would be matched to others; resume with the playbook "
        "as it was, or start a new run")
    assert made(vendor) == ["n0"]


@pytest.mark.parametrize("then", ["other params", "the list respaced",
                                  "a run from before lists were recorded"])
def test_a_resume_through_the_same_keyless_list_goes_on(tmp_path: Path, then: str) -> None:
    vendor = ScriptedVendor(ids=[0, 1, 2])
    attempt(tmp_path, vendor, max_creates=1, playbook=LISTED)
    playbook = LISTED.replace("'n' ~ item.id", "'m' ~ item.id")
    if then == "the list respaced":  # the same template
        playbook = LISTED.replace('"{{ steps.all.items }}"', '"{{steps.all.items  }}"')
    elif then != "other params":
        playbook = REVERSED  # unchecked: the run has no list recorded, as before this column
        with closing(sqlite3.connect(tmp_path / "journal.sqlite")) as db, db:
            db.execute("UPDATE runs SET item_lists = NULL")
    resumed, _ = attempt(tmp_path, vendor, resume=True, playbook=playbook)
    assert resumed.status == "ok", resumed.error
    assert len(made(vendor)) == 3


def test_a_resume_through_a_stream_without_a_key_warns_of_matching_by_place(
        tmp_path: Path) -> None:
    vendor = ScriptedVendor(ids=[0, 1, 2])
    _, first = attempt(tmp_path, vendor, max_creates=1, playbook=UNKEYED)
    resumed, events = attempt(tmp_path, vendor, resume=True, playbook=UNKEYED)
    assert resumed.status == "ok", resumed.error
    assert not [e for e in first if isinstance(e, Warned)]
    assert [e.message for e in events if isinstance(e, Warned)] == [
        "its list is streamed, so read again on resume, and with no key its items are matched "
        "to those the earlier attempts had by their place: right only if the list has not "
        "changed since (give the for_each a key, such as \"{{ item.id }}\", to match them by "
        "it)"]


def test_two_shards_cover_items_that_changed_between_their_reads_once_each(
        tmp_path: Path) -> None:
    """Each shard job lists the vendor's tasks itself, and a task's progress moves on in
    between: with a key, its shard is decided by the key, not by the whole changing item."""
    vendor = ScriptedVendor(ids=list(range(40)), item_fields={"progress": 10})
    first, _ = attempt(tmp_path / "shard-1", vendor, shard=Shard(1, 2))
    vendor.item_fields = {"progress": 70}
    second, _ = attempt(tmp_path / "shard-2", vendor, shard=Shard(2, 2))
    assert first.status == second.status == "ok"
    assert sorted(made(vendor)) == sorted(f"n{i}" for i in range(40))
    assert 10 < len(first.outputs["made"]) < 30


def test_an_unknown_create_of_an_item_the_list_no_longer_has_is_told(tmp_path: Path) -> None:
    vendor = ScriptedVendor(ids=[0, 1], create_status=502)
    attempt(tmp_path, vendor)
    vendor.ids, vendor.create_status = [1, 2], 200
    resumed, events = attempt(tmp_path, vendor, resume=True)
    assert resumed.status == "ok", resumed.error
    assert made(vendor)[1:] == ["n1", "n2"]
    assert [e.message for e in events if isinstance(e, Warned)] == [
        "iteration 0 (key 0): no longer in the list, and its testvendor.job.create of unknown "
        "outcome cannot be looked up (the spec has no reconcile): outbound runs resolve run-1 "
        "make[0] records what became of it"]
    shown = outbound("runs", "show", "run-1", "--journal", str(tmp_path / "journal.sqlite"))
    assert '  make[0] (key 0) testvendor.job.create {"name": "n0"}' in shown.output.splitlines()
    assert "failed make[0] (key 0): " in shown.output  # the first attempt's 502
    page = tmp_path / "report.html"
    reported = outbound("runs", "report", "run-1", "--html", str(page), "--journal",
                        str(tmp_path / "journal.sqlite"))
    assert reported.exit_code == 0, reported.output
    assert "<summary><strong>make[0] (key 0)</strong>" in page.read_text(encoding="utf-8")


def test_a_made_create_of_an_item_the_list_no_longer_has_is_told(tmp_path: Path) -> None:
    """Made, then failed after (an expectation): not sent again, and not lost without a word
    when the list lets go of its item."""
    expecting = KEYED_STREAM.replace("    outputs: {id:", "    expect: [\"{{ item.id != 0 }}\"]\n"
                                     "    outputs: {id:")
    vendor = ScriptedVendor(ids=[0, 1])
    failed, _ = attempt(tmp_path, vendor, playbook=expecting)
    assert failed.status == "failed" and made(vendor) == ["n0"]
    vendor.ids = [1, 2]
    resumed, events = attempt(tmp_path, vendor, resume=True, playbook=expecting)
    assert resumed.status == "ok", resumed.error
    assert made(vendor)[1:] == ["n1", "n2"] and resumed.outputs["made"] == [1, 2]
    assert [e.message for e in events if isinstance(e, Warned)] == [
        "iteration 0 (key 0): no longer in the list; its testvendor.job.create was made (the "
        "vendor answered it; the item did not finish), and the step's outputs do not have it"]


CRM_STREAMED = """\
playbook_version: 1
name: a call per running CRM task
services:
  crm: {spec: crm}
  isales: {spec: huawei-isales}
steps:
  - id: tasks
    call: crm.tasks.list
    params: {status: running}
    paginate: {page_size: 1, stream: true}
  - id: reserve
    for_each: "{{ steps.tasks.items }}"
    as: task
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "1", calledNo: "13900000005",
             userAccount: ops, appointTime: "{{ now_ms() + 3600000 }}"}
"""


def test_the_warning_suggests_the_field_the_spec_documents_as_the_items_id(
        tmp_path: Path) -> None:
    path = tmp_path / "crm.yaml"
    path.write_text(CRM_STREAMED, encoding="utf-8")
    journal = str(tmp_path / "journal.sqlite")
    paused = outbound("run", str(path), "--sim", "--journal", journal, "--max-creates", "1")
    assert paused.exit_code == 75, paused.output
    resumed = outbound("run", str(path), "--sim", "--journal", journal, "--resume", "latest")
    assert resumed.exit_code == 0, resumed.output
    assert "give the for_each a key, such as \"{{ task.task_id }}\"" in resumed.output


def test_the_key_of_a_create_a_kill_left_unknown_is_on_disk(tmp_path: Path) -> None:
    """The intent log carries it: a resume finds the create at its item by key."""
    path = tmp_path / "journal.sqlite"
    killed = subprocess.run([sys.executable, "-c", f"""
import asyncio, os, signal
from runner.journal import Journal
journal = Journal({str(path)!r})
journal.begin("run-1", "keyed", "keyed.yaml", "-", {{}}, None)
async def send():
    journal.keyed("make", 4, "12347")
    journal.intent("make", 4, "testvendor.job.create", "create", {{"name": "n4"}}, write=True)
    os.kill(os.getpid(), signal.SIGKILL)  # as the request would leave, before any commit
asyncio.run(send())
"""], cwd=ROOT)
    assert killed.returncode == -signal.SIGKILL
    with closing(Journal(path, reader=True)) as reader:
        recorded = reader.recorded("run-1")
    assert recorded.keys == {"make": {"12347": 4}}
    assert recorded.unknown[("make", 4)].item_key == "12347"


def test_many_repeats_are_shown_a_few_then_counted() -> None:
    """A vendor's list that shows every item three times: three repeats told, the rest
    counted."""
    with tempfile.TemporaryDirectory() as folder:
        _, events = attempt(Path(folder), ScriptedVendor(ids=[0, 1, 2, 3] * 3))
    screen = io.StringIO()
    console = ConsoleReporter(screen)
    for event in events:
        console(event)
    repeat = "an earlier item had the same key (the list shows it again): skipped, not run twice"
    assert [line for line in screen.getvalue().splitlines() if line.startswith("  warn")] == [
        f"  warn  make: iteration 4 (key 0): {repeat}",
        f"  warn  make: iteration 5 (key 1): {repeat}",
        f"  warn  make: iteration 6 (key 2): {repeat}",
        f"  warn  make: and 5 more iterations (7-11): {repeat}"]


NUMBERS = """\
playbook_version: 1
name: numbers, one call each
services:
  isales: {spec: huawei-isales}
inputs:
  numbers: {type: array, items: {type: string}}
steps:
  - id: reserve
    for_each: "{{ inputs.numbers }}"
    as: number
    key: "{{ number }}"
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "1", calledNo: "{{ number }}",
             userAccount: ops, appointTime: 1900000000000}
"""


def test_a_dry_run_plans_a_repeated_item_as_the_run_skips_it(tmp_path: Path) -> None:
    """A CRM export that lists a customer twice: the dry run plans one call, and says why."""
    path = tmp_path / "numbers.yaml"
    path.write_text(NUMBERS, encoding="utf-8")
    numbers = 'numbers=["13800000001", "13800000017", "13800000001"]'
    planned = outbound("run", str(path), "--sim", "--dry-run", "--var", numbers)
    assert planned.exit_code == 0, planned.output
    assert [line.split()[1] for line in planned.output.splitlines()
            if line.startswith("  plan")] == ["reserve[0]", "reserve[1]"]
    assert ("  warn  reserve: iteration 2 (key 13800000001): an earlier item had the same key"
            in planned.output)
    ran = outbound("run", str(path), "--sim", "--var", numbers, "--journal",
                   str(tmp_path / "journal.sqlite"))
    assert ran.exit_code == 0, ran.output
    assert "reserve  2 calls, 2 ok, 1 skipped, 0 failed" in ran.output


def test_the_shipped_campaign_calls_a_number_the_export_lists_twice_once(
        tmp_path: Path) -> None:
    export = tmp_path / "customers.csv"
    export.write_text("speech_task,number\n1618,13800000001\n1620,13800000029\n"
                      "1623,13800000001\n", encoding="utf-8")  # tasks the simulator runs
    ran = outbound("run", str(ROOT / "playbooks" / "speech-callbacks.yaml"), "--sim", "--csv",
                   f"customers={export}", "--journal", str(tmp_path / "journal.sqlite"))
    assert ran.exit_code == 0, ran.output
    assert "  warn  reserve: iteration 2 (key 13800000001): an earlier item had the same key" \
        in ran.output
    assert "reserved: 2" in ran.output


def test_the_reports_name_a_failed_item_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "numbers.yaml"
    path.write_text(NUMBERS.replace("    key:", "    max_failures: 5\n    key:"),
                    encoding="utf-8")
    faults = tmp_path / "refused.yaml"
    faults.write_text("seed: 1\nfaults:\n  - {kind: vendor_code, code: '0200001', rate: 1.0, "
                      "on: [create]}\n", encoding="utf-8")
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    ran = outbound("run", str(path), "--sim", "--sim-faults", str(faults), "--var",
                   'numbers=["13800000001", "13800000017"]', "--report-json", str(report),
                   "--report-junit", str(junit), "--journal", str(tmp_path / "j.sqlite"))
    assert ran.exit_code == 1, ran.output
    (step,) = json.loads(report.read_text(encoding="utf-8"))["steps"]
    assert [(f["iteration"], f["key"]) for f in step["failures"]] == [
        (0, "13800000001"), (1, "13800000017")]
    cases = [case.get("name") for case in ET.parse(junit).getroot().iter("testcase")]
    assert cases[-2:] == ["reserve[0] (key 13800000001)", "reserve[1] (key 13800000017)"]


def test_the_command_line_records_the_keys_a_resume_is_held_to(tmp_path: Path) -> None:
    path, journal = tmp_path / "numbers.yaml", str(tmp_path / "journal.sqlite")
    path.write_text(NUMBERS, encoding="utf-8")
    numbers = 'numbers=["13800000001", "13800000017"]'
    paused = outbound("run", str(path), "--sim", "--var", numbers, "--journal", journal,
                      "--max-creates", "1")
    assert paused.exit_code == 75, paused.output
    path.write_text(NUMBERS.replace('key: "{{ number }}"', 'key: "{{ number[-4:] }}"'),
                    encoding="utf-8")
    refused = outbound("run", str(path), "--sim", "--var", numbers, "--journal", journal,
                       "--resume", "latest")
    assert refused.exit_code == 1
    assert ("went through this for_each's items with key '{{ number }}', and the playbook's "
            "step 'reserve' now has key '{{ number[-4:] }}'") in refused.stderr


def test_a_run_from_before_keys_were_recorded_still_refuses_a_dropped_key(
        tmp_path: Path) -> None:
    vendor = ScriptedVendor(ids=[0, 1, 2])
    attempt(tmp_path, vendor, max_creates=1)
    with closing(sqlite3.connect(tmp_path / "journal.sqlite")) as db, db:
        db.execute("UPDATE runs SET item_keys = NULL")  # as an earlier version left it
    refused, _ = attempt(tmp_path, vendor, resume=True, playbook=UNKEYED)
    assert "went through this for_each's items with a key, and the playbook's step 'make' " \
           "now has no key" in str(refused.error)


UNRENDERED = isales_playbook("a customer with no number", """\
steps:
  - id: reserve
    for_each: [{n: "13790000001"}, {phone: "13790000002"}, {n: "13790000003"}]
    as: customer
    key: "{{ customer.n }}"
    max_failures: 5
    concurrency: 1
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "2", calledNo: "{{ customer.n }}",
             userAccount: ops, appointTime: "{{ now_ms() + 600000 }}"}
""")


def test_an_item_whose_key_does_not_render_is_named_failed_once_however_often_resumed(
        tmp_path: Path) -> None:
    """Known by nothing, it fails again in each attempt, under the iteration it first had:
    `runs show` names it once, as the step counts it, and as each attempt did."""
    path, journal = tmp_path / "p.yaml", str(tmp_path / "journal.sqlite")
    path.write_text(UNRENDERED, encoding="utf-8")
    paused = outbound("run", str(path), "--sim", "--journal", journal, "--max-creates", "1")
    assert paused.exit_code == 75, paused.output
    assert "        iteration 1: " in paused.stdout
    for _ in range(2):
        ended = outbound("run", str(path), "--sim", "--journal", journal, "--resume", "latest")
        assert ended.exit_code == 1, ended.output
        assert "        iteration 1: " in ended.stdout
    shown = outbound("runs", "show", "latest", "--journal", journal).stdout.splitlines()
    assert "reserve  partial  2      3      2   0        1       0" in shown
    assert [line.split(":")[0] for line in shown if line.startswith("failed ")] == [
        "failed reserve[1]"]
    as_json = outbound("runs", "show", "latest", "--journal", journal, "--format", "json")
    assert [f["iteration"] for f in json.loads(as_json.stdout)["failures"]] == [1]
    left_out = outbound("runs", "resolve", "latest", "reserve[1]", "--skip", "--journal", journal)
    assert left_out.exit_code == 2
    assert left_out.stderr.endswith(" cannot be left out: its for_each's key did not render "
                                    "for it, so a resume cannot tell it from the others\n")
    assert values(f"outbound runs resolve --journal {journal} latest ") == []  # nor offered
