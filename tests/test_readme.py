"""The README's CI workflow for scheduled campaigns: it must stay a workflow that would work.

No CI service runs it here, so what can be checked is: it is YAML of a workflow's shape, each
`outbound` command in it is accepted by the command line as it is today (options renamed since
would fail), the run is the step's own process and a pause leaves the job green, every shard of
the matrix is run, and each shard's journal is kept (upload-artifact leaves hidden folders out
by default).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.window import EXIT_PAUSED
from tests.conftest import ROOT, outbound

SECTION = "### Scheduled campaigns from CI"


def _workflow() -> dict[Any, Any]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(SECTION):]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None, "the section has no yaml block"
    workflow = yaml.safe_load(block.group(1))
    assert isinstance(workflow, dict)
    return workflow


def _steps() -> list[dict[str, Any]]:
    return [step for job in _workflow()["jobs"].values() for step in job["steps"]]


def _commands(shard: int, resolve: str = "1 latest reserve[0] --skip") -> list[list[str]]:
    """Every `outbound` command the workflow runs, as the shell would split it for `shard`
    (dispatched by hand with `resolve`)."""
    commands = []
    for step in _steps():
        script = step.get("run", "").replace("\\\n", " ")
        script = script.replace("${{ matrix.shard }}", str(shard))
        if step.get("env", {}).get("RESOLVE") == "${{ inputs.resolve }}":
            script = script.replace("${RESOLVE#* }", resolve.partition(" ")[2])
        for line in script.splitlines():
            words = shlex.split(line.strip())
            if words[:1] == ["exec"]:
                words = words[1:]
            if words and words[0] == "outbound":
                commands.append(words[1:])
    return commands


def test_the_workflow_is_scheduled_and_runs_every_shard() -> None:
    workflow = _workflow()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"].count(" ") == 4
    shards = workflow["jobs"]["shard"]["strategy"]["matrix"]["shard"]
    runs = [c for c in _commands(shards[0]) if c[0] == "run"]
    assert runs and all(f"{shards[0]}/{len(shards)}" in c for c in runs)
    assert sorted(shards) == list(range(1, len(shards) + 1))


@pytest.mark.parametrize("command", _commands(1), ids=lambda c: " ".join(c[:2]))
def test_each_outbound_command_is_accepted(command: list[str]) -> None:
    # --help is handled once every option is parsed: an unknown option still fails (exit 2)
    result = outbound(*command, "--help")
    assert result.exit_code == 0, result.output


def test_the_run_hears_a_cancelled_job_and_a_pause_leaves_it_green() -> None:
    """GitHub Actions signals a cancelled step's own process alone: the run must be it (exec),
    or it never stops gently; and a pause outside the calling window is no failure."""
    (run,) = [step["run"] for step in _steps() if "outbound run " in step.get("run", "")]
    assert run.startswith("exec outbound run ")
    (words,) = [c for c in _commands(1) if c[0] == "run"]
    assert words[words.index("--paused-exit-code") + 1] == "0"


def test_a_paused_run_exits_with_the_code_asked_and_says_paused(in_repo: Path,
                                                               tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    paused = outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "--max-creates", "1",
                      "--paused-exit-code", "0", "--report-json", str(report))
    assert paused.exit_code == 0
    assert paused.stderr.startswith("paused: step reserve: iteration 1: --max-creates 1 reached")
    document = json.loads(report.read_text())
    assert (document["status"], document["exit_code"]) == ("paused", EXIT_PAUSED)
    listed = json.loads(outbound("runs", "list", "--format", "json").stdout)
    assert (listed[0]["status"], listed[0]["exit_code"]) == ("paused", EXIT_PAUSED)


def test_each_shards_journal_is_kept() -> None:
    uploads = [step["with"] for step in _steps()
               if step.get("uses", "").startswith("actions/upload-artifact")
               and ".outbound/" in step["with"]["path"]]
    assert uploads and all(upload.get("include-hidden-files") is True for upload in uploads)
    caches = [step["with"]["path"] for step in _steps()
              if step.get("uses", "").startswith("actions/cache/")]
    assert caches and set(caches) == {".outbound"}


def test_the_journal_pruned_is_the_one_the_shard_writes(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each shard's run, on the embedded simulator, then the workflow's prune: it finds the
    journal the run wrote (a path that drifted would prune nothing, silently)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OUTBOUND_JOURNAL")  # as on a CI machine: the default journal
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "speech-callbacks.yaml").write_text(
        (ROOT / "playbooks" / "speech-callbacks.yaml").read_text(encoding="utf-8"))
    for shard in (1, 2):
        run, prune = (next(c for c in _commands(shard) if c[:2] == first)
                      for first in (["run", "playbooks/speech-callbacks.yaml"],
                                    ["runs", "prune"]))
        result = outbound(*run, "--sim")
        assert result.exit_code == 0, result.output
        pruned = outbound(*prune)
        assert pruned.exit_code == 0, pruned.output
        assert pruned.stdout == "no run started more than 14d ago; 1 kept\n"


def test_an_item_settled_through_the_workflow_lets_its_shard_go_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workflow dispatched by hand with `resolve`: the shard it names settles the item in
    its own journal, then its run resumes past it (a number the vendor refuses each time)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OUTBOUND_JOURNAL")  # as on a CI machine: the default journal
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "speech-callbacks.yaml").write_text(
        (ROOT / "playbooks" / "speech-callbacks.yaml").read_text(encoding="utf-8"))
    faults = tmp_path / "faults.yaml"  # shard 2's first create refused
    faults.write_text("faults: [{kind: vendor_code, code: '0200006', times: 1, "
                      "on: huawei-isales.appoint.create}]\n")
    run = [*next(c for c in _commands(2) if c[0] == "run"), "--sim", "--sim-faults", str(faults)]
    assert outbound(*run).exit_code == 1
    [failure] = json.loads(Path("report-2.json").read_text())["steps"][1]["failures"]
    settle = next(step for step in _steps() if "RESOLVE" in step.get("env", {}))
    assert settle["if"] == "startsWith(inputs.resolve, format('{0} ', matrix.shard))"
    said = f"2 latest reserve[{failure['iteration']}] --skip"
    resolve = next(c for c in _commands(2, said) if c[:2] == ["runs", "resolve"])
    resolved = outbound(*resolve)
    assert resolved.exit_code == 0, resolved.output
    assert outbound(*run).exit_code == 0
    report = json.loads(Path("report-2.json").read_text())
    assert report["steps"][1]["failures"] == []
    assert failure["key"] not in {result["number"] for result in report["outputs"]["results"]}
