"""From rendered params to the exact request the spec allows, checked before it leaves."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from runner.errors import Finding, Location, RequestRejected
from runner.spec import LINE_BREAK, LOCATIONS, Endpoint, ParamLocation
from runner.validation import QUOTE_IT


@dataclass(slots=True)  # not frozen: that costs a microsecond a call; nothing changes one
class OutgoingRequest:
    """A request as it will be sent; `content` is the body's bytes, serialized once."""

    endpoint: Endpoint
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Mapping[str, Any] | None
    content: bytes

    def describe(self) -> str:
        return f"{self.method} {self.target()}"

    def target(self) -> str:
        """The path and its query, as they read (not percent-encoded)."""
        query = "&".join(f"{k}={v}" for k, v in self.query.items())
        return self.path + (f"?{query}" if query else "")


def build_request(endpoint: Endpoint, params: Mapping[str, Any]) -> OutgoingRequest:
    """Place each param where the spec says and check every part against its schema.

    A param the endpoint does not have, or a value outside its documented rules, raises
    `RequestRejected` naming the param and the rule; nothing is sent.
    """
    sections: dict[ParamLocation, dict[str, Any]] = {loc: {} for loc in LOCATIONS}
    findings = []
    for name, value in params.items():
        param = endpoint.params.get(name)
        if param is None:
            findings.append(Finding(Location(), f"{endpoint.qualified_name} has no param "
                                    f"{name!r}"))
            continue
        sections[param.location][name] = value
    for location, values in sections.items():
        if values or location in endpoint.required_locations:
            findings += _problems(endpoint, location, values)
    if findings:
        raise RequestRejected(findings)
    return _assemble(endpoint, sections)


def check_param(endpoint: Endpoint, name: str, value: Any, location: Location) -> None:
    """`RequestRejected` at `location` if one rendered param breaks its spec's rule."""
    param = endpoint.params[name]
    findings = [Finding(location, finding.message) for finding in
                _problems(endpoint, param.location, {name: value}, only=name)]
    if findings:
        raise RequestRejected(findings)


def _problems(endpoint: Endpoint, location: ParamLocation, values: Mapping[str, Any],
              only: str | None = None) -> list[Finding]:
    """What in a request's part breaks its schema (`only`: of that one param)."""
    findings = []
    for issue in endpoint.request_validators[location].issues(values):
        name = str(issue.path[0]) if issue.path else ""
        if only is not None and name != only:
            continue
        where = f"param {name}" if name else f"{location} params"
        # a literal of the wrong type was refused at load: this one a template rendered
        message = issue.message.replace(QUOTE_IT, " (a template rendered it: `| string` "
                                        "makes it text)")
        findings.append(Finding(Location(), f"{endpoint.qualified_name} {where}: {message}"))
    if location == "header":
        findings += [Finding(Location(), f"{endpoint.qualified_name} param {name}: {why}")
                     for name, value in values.items() if only is None or name == only
                     if (why := _header_problem(_text(value)))]
    return findings


def _header_problem(value: str) -> str | None:
    if LINE_BREAK.search(value):  # it would end the header: a request smuggled after it
        return "a header's value cannot hold a line break"
    if not value.isascii():  # HTTP gives headers no encoding a vendor could be sure of
        return (f"a header's value is ASCII text, and {value!r} is not (`| urlencode` in the "
                "template percent-encodes it, if the vendor reads it so)")
    return None


def _assemble(endpoint: Endpoint,
              sections: Mapping[ParamLocation, dict[str, Any]]) -> OutgoingRequest:
    path = endpoint.path
    for name, value in sections["path"].items():
        path = path.replace("{" + name + "}", quote(_text(value), safe=""))
    headers = dict(endpoint.headers)
    headers.update({name: _text(value) for name, value in sections["header"].items()})
    body: dict[str, Any] | None = None
    content = b""
    if sections["body"] or endpoint.method in ("POST", "PUT", "PATCH"):
        body = sections["body"]
        try:
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":"),
                                 allow_nan=False).encode()
        except ValueError:  # a number schema takes NaN; a vendor's JSON reader would not
            raise RequestRejected([Finding(Location(), (
                f"{endpoint.qualified_name} param {name}: NaN and Infinity are no JSON values"))
                for name, value in body.items() if not _json_can_write(value)]) from None
    query = {name: _text(value) for name, value in sections["query"].items()}
    return OutgoingRequest(endpoint, endpoint.method, path, query, headers, body, content)


def _json_can_write(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)
