"""`outbound runs`: the run journal read back (list, show, report), kept (prune, resolve), and
shards' reports merged."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack, closing
from pathlib import Path

import click

from runner.cli.complete import items_to_resolve, playbooks_run, run_ids
from runner.cli.options import NonEmptyPath, format_option, handles_errors, journal_option

# what a run's status may be (the journal's, and `killed`: see Journal._status)
RUN_STATUSES = ("ok", "partial", "failed", "paused", "interrupted", "running", "killed")


@click.group()
def runs() -> None:
    """The run journal: what ran, what it did."""


@runs.command("list")
@journal_option
@format_option
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True,
              help="How many of the newest runs to list (0: all).")
@click.option("--status", type=click.Choice(RUN_STATUSES),
              help="Only the runs of this status (killed: recorded as running, but no process "
                   "is writing it; --resume continues it).")
@click.option("--playbook", metavar="NAME|FILE", shell_complete=playbooks_run,
              help="Only the runs of this playbook: its name, or its file as the runs were "
                   "given it.")
@handles_errors
def runs_list(journal: Path | None, output_format: str, limit: int, status: str | None,
              playbook: str | None) -> None:
    """The latest runs, each with its run_id, status and counts."""
    from runner.journal import Journal, default_path, no_runs, not_there
    from runner.reporting.runs import runs_json, runs_text

    path = journal or default_path()
    if not path.exists():
        click.echo(f"No runs: {not_there(path)}")
        return
    with closing(Journal(path, reader=True)) as opened:
        found = opened.runs(limit or None, status=status, playbook=playbook)
        cut = output_format == "text" and limit and len(found) == limit
        total = opened.run_count(status, playbook) if cut else len(found)
    if output_format == "json":
        click.echo(runs_json(found))
        return
    if not found:
        chosen = [f"of status {status}"] if status is not None else []
        chosen += [f"of playbook {playbook!r}"] if playbook is not None else []
        click.echo(f"No runs {' and '.join(chosen)}" if chosen else f"No runs: {no_runs(path)}")
        return
    click.echo(runs_text(found))
    if total > len(found):
        click.echo(f"the newest {limit} of {total} runs (--limit 0 lists them all)")


@runs.command("prune", short_help="Remove old runs; shrink the journal.")
@click.option("--older-than", required=True, metavar="DURATION",
              help="Remove the runs that started longer ago than this (e.g. 30d, 12h).")
@journal_option
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@handles_errors
def runs_prune(older_than: str, journal: Path | None, dry_run: bool) -> None:
    """Remove old runs from the journal, finished or not, and shrink the file.

    A campaign run from CI every 30 minutes keeps every run it ever made; run this after it
    (a run started within DURATION, which --resume may still need, is kept).
    """
    from runner.errors import InputError
    from runner.journal import Journal, default_path, not_there
    from runner.playbook import parse_duration
    from runner.reporting.runs import pruned_text

    try:
        seconds = parse_duration(older_than)
    except ValueError:
        raise InputError.plain(f"--older-than {older_than}: not a duration (e.g. 30d, 12h, "
                               "90m)") from None
    path = journal or default_path()
    if not path.exists():
        click.echo(f"No runs: {not_there(path)}")
        return
    before = path.stat().st_size
    opened = Journal(path, existing=True)  # as the writer: refused while a run writes it
    try:
        pruned = opened.prune(time.time() - seconds, dry_run=dry_run)
    finally:
        opened.close()
    click.echo(pruned_text(pruned, older_than, before, path.stat().st_size, dry_run))


@runs.command("merge")
@click.argument("reports", nargs=-1, required=True,
                type=NonEmptyPath(exists=True, dir_okay=False, path_type=Path))
@click.option("--report-json", type=NonEmptyPath(dir_okay=False, path_type=Path), required=True,
              help="Where to write the merged JSON report.")
@click.option("--report-junit", type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="Also write the merged run as JUnit XML.")
@handles_errors
def runs_merge(reports: tuple[Path, ...], report_json: Path, report_junit: Path | None) -> None:
    """Combine the JSON reports of a sharded run's jobs into one. Exit: the merged run's."""
    from runner.outfiles import check_apart
    from runner.reporting.merge import merge_reports

    check_apart([("--report-json", report_json), ("--report-junit", report_junit)],
                [("a report being merged", path) for path in reports])
    merged = merge_reports(reports, report_json, report_junit)
    click.echo(f"merged {len(reports)} reports: {merged['status']} (exit {merged['exit_code']})")
    sys.exit(merged["exit_code"])


@runs.command("report", short_help="A run's report as one HTML page.")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...|latest",
                shell_complete=run_ids)
@click.option("--html", "html_file", type=NonEmptyPath(dir_okay=False, path_type=Path),
              required=True, help="Where to write the report (one self-contained page).")
@click.option("--journal", "journals", multiple=True,
              type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="A journal to read (repeat for the journals of a sharded run's shards).")
@handles_errors
def runs_report(run_ids: tuple[str, ...], html_file: Path, journals: tuple[Path, ...]) -> None:
    """A run's report as HTML: steps, timeline, rates, latency, outcomes, failures.

    Give the run ids of every shard (and their journals) to merge a sharded run; `latest`
    is the newest run of each journal given.
    """
    from runner.journal import Journal, default_path
    from runner.journal.paths import journal_files
    from runner.outfiles import check_apart, write_out
    from runner.reporting.html import load, render

    journals = journals or (default_path(),)
    check_apart([("--html", html_file)], [f for path in journals for f in journal_files(path)])
    with ExitStack() as readers:
        opened = [readers.enter_context(closing(Journal(path, reader=True)))
                  for path in journals]
        if run_ids == ("latest",):
            run_ids = tuple(journal.run_id_of("latest") for journal in opened)
        html = render(load(opened, run_ids))
    write_out("--html", html_file, lambda path: path.write_text(html, encoding="utf-8"))
    click.echo(f"report written to {html_file}")


@runs.command("show")
@click.argument("run_id", metavar="RUN_ID|latest", shell_complete=run_ids)
@journal_option
@format_option
@handles_errors
def runs_show(run_id: str, journal: Path | None, output_format: str) -> None:
    """One run: its steps, calls, failed items and outputs."""
    from runner.journal import Journal, default_path
    from runner.reporting.runs import run_json, run_text

    with closing(Journal(journal or default_path(), reader=True)) as opened:
        found = opened.run(opened.run_id_of(run_id))
    click.echo(run_json(found) if output_format == "json" else run_text(found))


@runs.command("resolve", short_help="Say what became of an unknown write, or skip an item.")
@click.argument("run_id", metavar="RUN_ID|latest", shell_complete=run_ids)
@click.argument("items", metavar="STEP[ITERATION]...", nargs=-1, required=True,
                shell_complete=items_to_resolve)
@click.option("--not-sent", is_flag=True,
              help="The vendor did not act on it: --resume sends it again.")
@click.option("--answer", type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="The vendor made it; FILE (JSON or YAML) is its answer, from its console "
                   "or logs: --resume finishes the item from it.")
@click.option("--skip", is_flag=True,
              help="Leave the item out of the run (also one that failed, such as a number "
                   "the vendor refuses each time: --resume would try it again).")
@journal_option
@handles_errors
def runs_resolve(run_id: str, items: tuple[str, ...], not_sent: bool, answer: Path | None,
                 skip: bool, journal: Path | None) -> None:
    """Say what became of a write whose outcome is unknown and that no reconcile can look up,
    or leave out an item that failed, so that --resume can go on. Several items are settled
    alike, all or none."""
    from runner.errors import InputError
    from runner.journal import RESOLUTIONS, Journal, default_path
    from runner.yamlio import load_file

    said = [how for how, given in (("not-sent", not_sent), ("answer", answer is not None),
                                   ("skip", skip)) if given]
    if len(said) != 1:
        raise InputError.plain("say what happened: one of --not-sent, --answer FILE, --skip")
    how = said[0]
    if answer is not None and len(items) > 1:
        raise InputError.plain("--answer FILE is one write's answer: give one item with it")
    items = tuple(dict.fromkeys(items))  # each once
    where = [_item(item) for item in items]
    given = load_file(answer).data if answer is not None else None
    opened = Journal(journal or default_path(), existing=True)  # refused while a run writes it
    try:
        run_id = opened.run_id_of(run_id)
        opened.resolve(run_id, where, how, given)
    finally:
        opened.close()
    for item in items:
        click.echo(f"{item} of run {run_id}: {RESOLUTIONS[how]}")


def _item(text: str) -> tuple[str, int | None]:
    """`reserve[3]` -> ("reserve", 3); `confirm` (a step without for_each) -> ("confirm", None)."""
    from runner.errors import InputError

    step, bracket, rest = text.partition("[")
    if not bracket:
        return step, None
    if not (rest.endswith("]") and rest[:-1].isdigit() and step):
        raise InputError.plain(f"{text!r}: expected STEP[ITERATION], e.g. reserve[3]")
    return step, int(rest[:-1])
