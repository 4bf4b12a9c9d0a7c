"""`outbound validate`: check spec, playbook and fault-plan files, each on its own, reporting
every problem.

A broken file never hides the others: each file's problems are collected and the next file
is checked. A file's kind is read from its key: `spec_version`, `playbook_version`, or `faults`
(a fault plan for the simulator).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from runner.errors import FileError, Finding, Location, OutboundError
from runner.playbook import check_playbook_document
from runner.sim.faults import check_plan_document
from runner.spec import load_spec
from runner.validation import suggest
from runner.yamlio import Document, load_file

Checker = Callable[[Document], list[Finding]]


@dataclass(frozen=True)
class FileResult:
    file: str
    kind: str
    findings: list[Finding]


@dataclass
class CheckReport:
    results: list[FileResult] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for result in self.results for f in result.findings]

    @property
    def ok(self) -> bool:
        return bool(self.results) and not self.findings


def _checkers() -> dict[str, Checker]:
    return {"spec_version": _check_spec, "playbook_version": check_playbook_document,
            "faults": check_plan_document}


def _check_spec(document: Document) -> list[Finding]:
    """Through the spec cache: playbooks checked next load the same files without a recheck."""
    try:
        load_spec(document.file)
    except FileError as error:
        return list(error.findings)
    return []


def check_paths(paths: Iterable[str | Path], *, missing_ok: bool = False) -> CheckReport:
    """Check every YAML file under `paths` (files or folders).

    With `missing_ok` (the default folders), a path with no YAML files is skipped silently.
    """
    report = CheckReport()
    for path in paths:
        files = _yaml_files(Path(path))
        if not files and not missing_ok:
            report.results.append(FileResult(str(path), "unknown", [
                Finding(Location(str(path)), "no such file, or no .yaml files in this folder")]))
        report.results.extend(check_file(f) for f in files)
    return report


def check_file(path: Path) -> FileResult:
    try:
        document = load_file(path)
    except OutboundError as error:
        return FileResult(str(path), "unknown", list(error.findings))
    data = document.data
    checkers = _checkers()
    kind_key = next((k for k in checkers if isinstance(data, dict) and k in data), None)
    if kind_key is None:
        message = ("the file is empty; a spec, a playbook or a fault plan is a mapping with "
                   "spec_version, playbook_version or faults" if data is None else
                   "not a spec, a playbook or a fault plan: expected a mapping with "
                   "spec_version, playbook_version or faults")
        near = next(((key, hint) for key in (data if isinstance(data, dict) else ())
                     if (hint := suggest(str(key), checkers))), None)
        if near is not None:  # `playbook_verison: 1`
            key, hint = near
            return FileResult(str(path), "unknown", [Finding(
                document.locate((key,), key=True), f"{message}; unknown key {key!r}{hint}")])
        return FileResult(str(path), "unknown", [Finding(document.locate(()), message)])
    try:
        findings = checkers[kind_key](document)
    except OutboundError as error:
        findings = list(error.findings)
    kind = "fault plan" if kind_key == "faults" else kind_key.removesuffix("_version")
    return FileResult(str(path), kind, findings)


def _yaml_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path] if path.is_file() else []
