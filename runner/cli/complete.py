"""Shell completion of what only outbound-runner knows: endpoint and spec names, run ids, the
items of a run's writes whose outcome is unknown.

Click completes commands, options and file paths by itself; these functions add the values
behind an argument. Each reads as little as it can (a spec's names, not the whole spec
checked; the journal opened read-only) and offers nothing rather than fail: an error while
the user presses Tab must not print.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

RUN_IDS_OFFERED = 50  # the newest runs: older ones are rarely resumed or shown


def _endpoints_by_service() -> Iterator[tuple[str, dict[str, Any]]]:
    """Each readable spec's service name and endpoints, read from its YAML unchecked."""
    from runner.catalog import spec_files
    from runner.errors import OutboundError
    from runner.yamlio import load_file

    for path in spec_files().values():
        try:
            data = load_file(path).data
        except OutboundError:
            continue
        if isinstance(data, dict) and isinstance(data.get("service"), str):
            endpoints = data.get("endpoints")
            yield data["service"], endpoints if isinstance(endpoints, dict) else {}


def endpoint_names(ctx: click.Context, param: click.Parameter,
                   incomplete: str) -> list[CompletionItem]:
    """SERVICE.ENDPOINT names, each with its summary."""
    found = []
    for service, endpoints in _endpoints_by_service():
        for name, endpoint in endpoints.items():
            qualified = f"{service}.{name}"
            if qualified.startswith(incomplete):
                summary = endpoint.get("summary") if isinstance(endpoint, dict) else None
                found.append(CompletionItem(qualified, help=summary))
    return found


def spec_names(ctx: click.Context, param: click.Parameter,
               incomplete: str) -> list[CompletionItem]:
    """Spec names, and files besides (a spec may be named by its file)."""
    found = [CompletionItem(service) for service, _ in _endpoints_by_service()
             if service.startswith(incomplete)]
    return [*found, CompletionItem(incomplete, type="file")]


def _journals(ctx: click.Context) -> list[Path]:
    """The journals the command line names so far: `runs report`'s --journal (repeated), the
    --journal of the others, else the default; a `run --shard K/N`'s own."""
    from runner.errors import InputError
    from runner.run_command import journal_path, parse_shard

    if ctx.params.get("journals"):
        return list(ctx.params["journals"])
    try:
        shard = parse_shard(ctx.params.get("shard"))
    except InputError:
        shard = None
    return [journal_path(ctx.params.get("journal"), shard)]


def run_ids(ctx: click.Context, param: click.Parameter,
            incomplete: str) -> list[CompletionItem]:
    """'latest' and the newest runs' ids in the journals named so far, each with its
    playbook and start."""
    from runner.journal import newest_runs

    latest = ("the newest run of this playbook with these inputs, if it did not finish"
              if param.name == "resume" else "the newest run")
    offered = [CompletionItem("latest", help=latest)]
    runs = sorted((run for path in _journals(ctx) for run in newest_runs(path, RUN_IDS_OFFERED)),
                  key=lambda run: run[2], reverse=True)
    offered += [CompletionItem(run_id, help=f"{playbook}, started "
                               + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)))
                for run_id, playbook, started in runs[:RUN_IDS_OFFERED]]
    return [item for item in offered if item.value.startswith(incomplete)]


def playbooks_run(ctx: click.Context, param: click.Parameter,
                  incomplete: str) -> list[CompletionItem]:
    """The names of the playbooks the journal has runs of, each with its file (the newest
    run's first)."""
    from runner.journal import playbooks_run as run_of

    named: dict[str, str] = {}  # each name once, with its newest run's file
    for path in _journals(ctx):
        for name, file in run_of(path):
            named.setdefault(name, file)
    return [CompletionItem(name, help=file) for name, file in named.items()
            if name.startswith(incomplete)]


def items_to_resolve(ctx: click.Context, param: click.Parameter,
                     incomplete: str) -> list[CompletionItem]:
    """What `runs resolve` settles in the run named so far: the items whose writes have an
    unknown outcome, each with its endpoint, then those that failed, each with its reason."""
    from runner.journal import items_to_settle

    run_id = ctx.params.get("run_id")
    if not run_id:
        return []
    typed = set(ctx.params.get("items") or ())  # the items given before this one
    return [CompletionItem(item, help=said) for path in _journals(ctx)
            for item, said in items_to_settle(path, run_id)
            if item.startswith(incomplete) and item not in typed]
