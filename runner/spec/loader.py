"""Loading a spec file (validated, checked, built once per process), and finding one by name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from runner.errors import FileError, Finding, InputError
from runner.resources import data_dir
from runner.spec.model import (
    Auth,
    Endpoint,
    Envelope,
    Example,
    Pagination,
    Param,
    Reconcile,
    ResultCode,
    Spec,
)
from runner.spec.rules import semantic_findings
from runner.validation import schema_findings, suggest
from runner.yamlio import Document, load_file


def load_spec(path: str | Path) -> Spec:
    """Load, validate and build a spec file; every problem found is in the `FileError`.

    A file is loaded once per process (while it is unchanged on disk): a run and its
    simulator share the same `Spec`.
    """
    resolved = Path(path).resolve()
    try:
        stat = resolved.stat()
    except OSError:
        return _load_spec(str(path))
    key = (str(resolved), stat.st_mtime_ns, stat.st_size)
    if key not in _LOADED:
        _LOADED[key] = _load_spec(str(path))
    return _LOADED[key]


_LOADED: dict[tuple[str, int, int], Spec] = {}


def _load_spec(path: str) -> Spec:
    document = load_file(path)
    findings = check_spec_document(document)
    if findings:
        raise FileError(findings)
    return build_spec(document)


def check_spec_document(document: Document) -> list[Finding]:
    """Every problem of a loaded spec file: its schema first, then the cross-field rules."""
    findings = schema_findings(document, "spec")
    if findings:
        return findings
    spec = build_spec(document)
    return [Finding(document.locate(path, key=at_key), message)
            for path, message, at_key in semantic_findings(spec, document.data)]


def build_spec(document: Document) -> Spec:
    """A `Spec` from a document that passed `check_spec_document`."""
    raw = document.data
    codes = {code: _result_code(code, entry) for code, entry in raw.get("result_codes", {}).items()}
    envelope = raw.get("envelope")
    headers = raw.get("headers", {})
    return Spec(
        service=raw["service"],
        title=raw["title"],
        vendor=raw.get("vendor", ""),
        base_url=raw["base_url"],
        auth=Auth(raw["auth"]["scheme"],
                  {k: v for k, v in raw["auth"].items() if k not in ("scheme", "notes")}),
        envelope=Envelope(envelope["code"], frozenset(envelope["success"]),
                          envelope.get("message"), envelope.get("detail")) if envelope else None,
        result_codes=codes,
        endpoints={name: _endpoint(raw["service"], name, entry, codes, headers)
                   for name, entry in raw["endpoints"].items()},
        file=document.file,
        notes=_notes(raw.get("notes")),
    )


def _endpoint(service: str, name: str, raw: Mapping[str, Any],
              codes: Mapping[str, ResultCode], headers: Mapping[str, str]) -> Endpoint:
    own_codes = raw.get("result_codes", {})
    merged = dict(codes)
    for code, override in own_codes.items():
        base = codes.get(code, ResultCode(code, override.get("meaning", "undocumented")))
        merged[code] = ResultCode(code, override.get("meaning", base.meaning),
                                  override.get("retryable", base.retryable),
                                  override.get("throttle", base.throttle),
                                  override.get("http_status", base.http_status),
                                  override.get("final", base.final))
    return Endpoint(
        service=service, name=name, kind=raw["kind"], method=raw["method"], path=raw["path"],
        params={n: Param(n, p["in"], p.get("required", False), p["schema"],
                         p.get("description", ""), tuple(p.get("aliases", ())))
                for n, p in raw.get("params", {}).items()},
        response_schema=raw["response"]["schema"],
        headers={**headers, **raw.get("headers", {})},
        result_codes=merged,
        documented_codes=frozenset(own_codes),
        pagination=_pagination(raw.get("pagination")),
        values={n: tuple(v["from"]) for n, v in raw.get("values", {}).items()},
        reconcile=Reconcile(**raw["reconcile"]) if "reconcile" in raw else None,
        examples=tuple(_example(i, e) for i, e in enumerate(raw.get("examples", []))),
        summary=raw.get("summary", ""),
        notes=_notes(raw.get("notes")),
    )


def _result_code(code: str, raw: Mapping[str, Any]) -> ResultCode:
    return ResultCode(code, raw["meaning"], raw.get("retryable", False),
                      raw.get("throttle", False), raw.get("http_status"), raw.get("final", False))


def _pagination(raw: Mapping[str, Any] | None) -> Pagination | None:
    if raw is None:
        return None
    if raw["style"] == "offset":
        return Pagination("offset", raw["offset"], raw["limit"], raw["items"], raw.get("total"))
    return Pagination("page", raw["page"], raw["size"], raw["items"], raw.get("total"),
                      raw.get("first_page", 1))


def _example(index: int, raw: Mapping[str, Any]) -> Example:
    response = raw.get("response", {})
    return Example(raw.get("title", f"example {index + 1}"), raw.get("request", {}),
                   response.get("status"), response.get("body"), "response" in raw)


def _notes(raw: str | Sequence[str] | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    return (raw,) if isinstance(raw, str) else tuple(raw)


def shipped_spec_files() -> list[Path]:
    """The spec files that come with the package."""
    return sorted(data_dir("specs").glob("*.yaml"))


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def find_spec_file(reference: str, base_dir: Path | None = None) -> Path:
    """Resolve a playbook's `spec:`: a path to a file, else ./specs/NAME.yaml, else shipped.

    Relative paths are taken from `base_dir` (the playbook's folder) first, then the working
    directory.
    """
    looks_like_path = reference.endswith((".yaml", ".yml")) or "/" in reference
    shown = reference if len(reference) <= 80 else reference[:77] + "..."
    if looks_like_path:
        for root in filter(None, (base_dir, Path.cwd())):
            candidate = root / reference
            if _is_file(candidate):
                return candidate
        raise InputError.plain(f"spec file {shown!r} does not exist")
    for folder in (Path.cwd() / "specs", data_dir("specs")):
        candidate = folder / f"{reference}.yaml"
        if _is_file(candidate):
            return candidate
    known = sorted({p.stem for p in [*Path("specs").glob("*.yaml"), *shipped_spec_files()]})
    raise InputError.plain(f"no spec named {shown!r}" + suggest(reference[:200], known)
                           + f" (known: {', '.join(known)})")
