"""`outbound specs export-openapi`: a spec as an OpenAPI 3.1 document.

OpenAPI 3.1 schemas are JSON Schema 2020-12, so param and response schemas go across as they
are (annotations such as x-enum-meanings included). What a spec says that OpenAPI has no field
for (result codes, pagination, values, reconcile, notes) goes under `x-outbound-*` extensions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from runner.spec import Auth, Endpoint, Spec

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def export_openapi(spec: Spec) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in spec.endpoints.values():
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(spec, endpoint)
    scheme_name, scheme = _security(spec.auth)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": spec.title, "version": "1",
                 "description": "\n\n".join(spec.notes) or spec.title},
        "servers": [_server(spec.base_url)],
        "paths": paths,
        "components": {"securitySchemes": {scheme_name: scheme}} if scheme else {},
    }
    if scheme:
        document["security"] = [{scheme_name: []}]
    if spec.result_codes:
        document["info"]["x-outbound-result-codes"] = {
            code: code_entry.meaning for code, code_entry in spec.result_codes.items()}
    return document


def _server(base_url: str) -> dict[str, Any]:
    names = _PLACEHOLDER.findall(base_url)
    server: dict[str, Any] = {"url": base_url}
    if names:
        server["variables"] = {name: {"default": {"port": "443"}.get(name, "localhost"),
                                      "description": "set by the playbook's service binding"}
                               for name in names}
    return server


def _operation(spec: Spec, endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": endpoint.name, "tags": [spec.service],
        "summary": endpoint.summary or endpoint.name,
        "parameters": [
            {"name": p.name, "in": p.location, "required": p.required or p.location == "path",
             "schema": dict(p.schema), **({"description": p.description} if p.description
                                          else {})}
            for p in endpoint.params.values() if p.location != "body"],
        "responses": {"200": _response(endpoint)},
        "x-outbound-kind": endpoint.kind,
    }
    body = endpoint.params_in("body")
    if body:
        schema = {"type": "object", "properties": {n: dict(p.schema) for n, p in body.items()},
                  "required": [n for n, p in body.items() if p.required]}
        content: dict[str, Any] = {"schema": schema}
        examples = {f"example{i + 1}": {"summary": e.title, "value": e.request["body"]}
                    for i, e in enumerate(endpoint.examples) if "body" in e.request}
        if examples:
            content["examples"] = examples
        operation["requestBody"] = {"required": bool(schema["required"]),
                                    "content": {"application/json": content}}
    if endpoint.pagination is not None:
        operation["x-outbound-pagination"] = endpoint.pagination.__dict__
    if endpoint.documented_codes:
        operation["x-outbound-result-codes"] = {
            code: endpoint.result_codes[code].meaning for code in sorted(endpoint.documented_codes)}
    if endpoint.notes:
        operation["description"] = "\n\n".join(endpoint.notes)
    return operation


def _response(endpoint: Endpoint) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": dict(endpoint.response_schema)}
    examples = {f"example{i + 1}": {"summary": e.title, "value": e.response_body}
                for i, e in enumerate(endpoint.examples) if e.has_response}
    if examples:
        content["examples"] = examples
    return {"description": "the answer; its result code is in the envelope",
            "content": {"application/json": content}}


def _security(auth: Auth) -> tuple[str, dict[str, Any] | None]:
    settings: Mapping[str, Any] = auth.settings
    if auth.scheme == "huawei-c2":
        return "huaweiC2", {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "Huawei C2 AK/SK signing: auth-v2/{AK}/{timestamp}/{signedHeaders}/"
                           "{signature}, HMAC-SHA256 over the method, path, query, the signed "
                           f"headers ({', '.join(settings.get('signed_headers', []))}) and the "
                           "body"}
    if auth.scheme == "rsa-sign":
        headers = {"app_id": "appId", "timestamp": "timestamp", "sign": "sign",
                   **settings.get("headers", {})}
        return "rsaSign", {
            "type": "apiKey", "in": "header", "name": headers["sign"],
            "description": f"RSA signature (base64) of {settings.get('signed_text')}; with "
                           f"the {headers['app_id']} and {headers['timestamp']} (ms) headers"}
    if auth.scheme == "api-key":
        return "apiKey", {"type": "apiKey", "in": settings.get("in", "query"),
                          "name": settings.get("name", "api_key")}
    if auth.scheme in ("bearer", "basic"):
        return auth.scheme, {"type": "http", "scheme": auth.scheme}
    return "none", None
