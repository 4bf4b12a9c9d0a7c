"""From an HTTP answer to a checked body: status, JSON, the envelope's code, the schema."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from runner.errors import (
    Finding,
    HTTPStatusError,
    Location,
    ResponseInvalid,
    VendorError,
    format_json_path,
)
from runner.spec import Endpoint, Spec
from runner.validation import QUOTE_IT

_STATUS_MEANING = {
    401: "authentication failed: the vendor rejected the credentials or the signature",
    403: "forbidden: the vendor refuses this caller (an IP allow-list, or missing rights)",
    404: "not found: this path does not exist there (is base_url right?)",
    429: "rate limited: the vendor asks for fewer requests",
}


@dataclass(slots=True)  # not frozen: that costs a microsecond a call; nothing changes one
class CheckedResponse:
    """An answer that passed its checks, with the values its spec names."""

    status: int
    body: Any
    result_code: str | None
    values: Mapping[str, Any]
    warnings: tuple[str, ...] = field(default=())


def dig(data: Any, dotted: str) -> Any:
    """The value at a dotted path (data.list) or None."""
    for part in dotted.split("."):
        if not isinstance(data, dict | Mapping) or part not in data:  # dict: no ABC check
            return None
        data = data[part]
    return data


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header, in its seconds or HTTP-date form."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


def check_response(spec: Spec, endpoint: Endpoint, status: int, headers: Mapping[str, str],
                   content: bytes, *, now: float, lenient_schema: bool = False) -> CheckedResponse:
    """Interpret one answer; raise the error that says what went wrong, or return the body."""
    name = endpoint.qualified_name
    retry_after = retry_after_seconds(headers.get("retry-after"), now)
    body = _decode(name, status, content, retry_after)
    envelope = spec.envelope
    code = dig(body, envelope.code) if envelope and isinstance(body, Mapping) else None
    if status >= 400 and (code is None or str(code) in envelope.success):  # type: ignore[union-attr]
        raise HTTPStatusError([Finding(Location(), f"{name} answered HTTP {status}: "
                                       f"{_STATUS_MEANING.get(status, _status_class(status))}"
                                       + (_clock_hint(spec) if status == 401 else "")
                                       + _excerpt_suffix(content))],
                              status=status, retry_after=retry_after)
    if envelope is not None:
        _check_envelope(spec, endpoint, body, code)
    issues = endpoint.response_validator.issues(body)
    warnings: tuple[str, ...] = ()
    content_type = headers.get("content-type", "")
    if content_type and "json" not in content_type.lower():
        warnings += (f"{name} labelled its JSON answer {content_type!r}; read as JSON anyway",)
    if issues:
        messages = [f"{name} response ({format_json_path(i.path)}): "  # the vendor's, not YAML
                    f"{i.message.replace(QUOTE_IT, '')}" for i in issues]
        if not lenient_schema:
            raise ResponseInvalid([Finding(Location(), m + " (the response breaks the spec)")
                                   for m in messages])
        warnings += tuple(messages)
    return CheckedResponse(status, body, str(code) if code is not None else None,
                           named_values(endpoint, body), warnings)


def named_values(endpoint: Endpoint, body: Any) -> dict[str, Any]:
    """The values the spec names in an answer (`appointId`: the first of its paths found)."""
    return {key: next((v for p in paths if (v := dig(body, p)) is not None), None)
            for key, paths in endpoint.values.items()}


MAX_DEPTH = 64  # how deep an answer may nest: no vendor's does; every walk of one recurses


class NotJSON(ValueError):
    """An answer json.loads would take but JSON is not: its str says why."""


def _no_constant(name: str) -> Any:
    """`parse_constant` refusing NaN and Infinity: Python's, not JSON's (RFC 8259)."""
    raise NotJSON(f"not JSON ({name} is no JSON value)")


# Taken in, a NaN went on into the JSON report as it came, which no JSON reader but Python's
# reads; a vendor's page is read as the other JSON readers (Hurl's, a browser's) read it.
_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def decoded(content: bytes) -> Any:
    """A JSON answer; ValueError (NotJSON says why) or UnicodeDecodeError if it is not one.
    An answer nested thousands deep broke the parser, and hundreds deep, each later walk of it
    (redaction, reports): a vendor's garbage, not a bug of ours."""
    # not orjson: it reads an integer past 64 bits as a float, losing digits of an id
    text = content.decode(json.detect_encoding(content), "surrogatepass")  # as json.loads
    try:
        body = _DECODER.decode(text)
    except RecursionError:
        raise NotJSON(f"nested more than {MAX_DEPTH} levels deep") from None
    # Fewer brackets than MAX_DEPTH cannot nest past it: a small answer is not walked.
    if content.count(b"[") + content.count(b"{") > MAX_DEPTH and _depth(body) > MAX_DEPTH:
        raise NotJSON(f"nested more than {MAX_DEPTH} levels deep")
    return body


def _depth(body: Any) -> int:
    """How deep `body` nests (a scalar: 0), counted to one level past MAX_DEPTH at most."""
    deepest, stack = 0, [(body, 1)] if isinstance(body, dict | list) else []
    while stack and deepest <= MAX_DEPTH:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        inside = value.values() if isinstance(value, dict) else value
        stack += [(v, depth + 1) for v in inside if isinstance(v, dict | list)]
    return deepest


def _decode(name: str, status: int, content: bytes, retry_after: float | None) -> Any:
    try:
        return decoded(content)
    except (ValueError, UnicodeDecodeError) as error:
        if status >= 400:
            raise HTTPStatusError([Finding(Location(), f"{name} answered HTTP {status}: "
                                           f"{_STATUS_MEANING.get(status, _status_class(status))}"
                                           + _excerpt_suffix(content))], status=status,
                                 retry_after=retry_after) from None
        why = error if isinstance(error, NotJSON) else "not JSON"
        raise ResponseInvalid([Finding(Location(), f"{name} answered HTTP {status} with a body "
                                       f"that is {why}: {_excerpt(content)}")]) from None


def _check_envelope(spec: Spec, endpoint: Endpoint, body: Any, code: Any) -> None:
    envelope = spec.envelope
    assert envelope is not None
    if code is None:
        raise ResponseInvalid([Finding(Location(), f"{endpoint.qualified_name} answered without "
                                       f"its result code field {envelope.code!r}: "
                                       f"{_excerpt(json.dumps(body).encode())}")])
    code = str(code)
    if code in envelope.success:
        return
    known = endpoint.result_codes.get(code)
    meaning = known.meaning if known else "a result code the spec does not document"
    said = dig(body, envelope.detail or "") or dig(body, envelope.message or "")
    message = f"{endpoint.qualified_name} answered {code}: {meaning}"
    if said and str(said) != meaning:
        message += f" (the vendor says: {str(said)[:200]})"
    raise VendorError([Finding(Location(), message)], code=code,
                      retryable=bool(known and known.retryable),
                      throttle=bool(known and known.throttle),
                      final=bool(known and known.final), body=body)


def _clock_hint(spec: Spec) -> str:
    """For a scheme that signs the time: a clock far from the vendor's fails as a bad key does."""
    skew = spec.auth.settings.get("clock_skew_seconds")
    return (f" (or this machine's clock is more than {skew} s off the vendor's: the signature "
            "carries the time)") if skew is not None else ""


def _status_class(status: int) -> str:
    return "a server error" if status >= 500 else "a client error"


def _excerpt(content: bytes, limit: int = 120) -> str:
    text = content[:limit].decode("utf-8", errors="replace")
    return repr(text) + (" ..." if len(content) > limit else "")


def _excerpt_suffix(content: bytes) -> str:
    return f"; body: {_excerpt(content)}" if content.strip() else ""

