"""Authentication schemes, chosen by the spec's `auth.scheme`.

What the vendor fixes (signed headers, hash, where the key goes) comes from the spec; what the
customer holds comes from the playbook's `credentials`:

    huawei-c2   ak, sk
    rsa-sign    app_id, private_key (PEM text, e.g. from secret('NAME') or NAME_FILE)
    api-key     api_key
    bearer      token
    basic       username, password
    none        -
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from runner.auth import api_key, bearer, huawei_c2
from runner.clock import Clock
from runner.errors import InputError
from runner.spec import LINE_BREAK, Auth

CREDENTIALS: dict[str, tuple[str, ...]] = {
    "huawei-c2": ("ak", "sk"),
    "rsa-sign": ("app_id", "private_key"),
    "api-key": ("api_key",),
    "bearer": ("token",),
    "basic": ("username", "password"),
    "none": (),
}


def build_auth(service: str, auth: Auth, credentials: Mapping[str, Any],
               clock: Clock) -> httpx.Auth | None:
    """The `httpx.Auth` for one service; wrong or missing credentials are an `InputError`."""
    values = _credential_values(service, auth.scheme, credentials)
    settings = auth.settings
    if auth.scheme == "huawei-c2":
        return huawei_c2.HuaweiC2Auth(
            values["ak"], values["sk"], clock,
            tuple(settings.get("signed_headers", ("content-type", "host"))),
            settings.get("timestamp_format", "seconds"),
            bool(settings.get("sign_empty_query", False)))
    if auth.scheme == "rsa-sign":
        from runner.auth import rsa_sign  # cryptography: loaded for the services that sign

        try:
            key = rsa_sign.load_private_key(values["private_key"])
        except (ValueError, TypeError) as exc:
            why = _pem_mistake(values["private_key"]) or exc
            raise InputError.plain(f"service {service}: credentials.private_key is not a PEM "
                                   f"RSA private key ({why})") from None
        return rsa_sign.RsaSignAuth(values["app_id"], key, clock, **rsa_sign.settings(settings))
    if auth.scheme == "api-key":
        return api_key.ApiKeyAuth(values["api_key"], settings.get("in", "query"),
                                  settings.get("name", "api_key"))
    if auth.scheme == "bearer":
        return bearer.BearerAuth(values["token"])
    if auth.scheme == "basic":
        return httpx.BasicAuth(values["username"], values["password"])
    return None


def _credential_values(service: str, scheme: str, credentials: Mapping[str, Any],
                       ) -> dict[str, str]:
    """The credentials `scheme` takes, as text; an `InputError` for one missing, unknown,
    empty or holding a line break."""
    needed = CREDENTIALS[scheme]
    missing = [name for name in needed if name not in credentials]
    unknown = sorted(set(credentials) - set(needed))
    if missing or unknown:
        problem = f"needs {', '.join(missing)}" if missing else \
            f"does not take {', '.join(unknown)}"
        raise InputError.plain(f"service {service}: the {scheme} scheme {problem} in "
                               f"credentials (it takes: {', '.join(needed) or 'nothing'})")
    empty = [name for name in needed if not credentials[name]]
    if empty:  # given, but its variable or file is empty
        raise InputError.plain(f"service {service}: credentials.{empty[0]} is empty (check the "
                               "variable or file it comes from)")
    values = {name: str(credentials[name]) for name in needed}
    for name, value in values.items():
        if name != "private_key" and LINE_BREAK.search(value):  # a PEM key is lines
            where = ("ends with a line break (did the variable or file it comes from keep a "
                     "newline?)" if LINE_BREAK.search(value.rstrip()) is None
                     else "holds a line break")
            raise InputError.plain(f"service {service}: credentials.{name} {where}; no vendor "
                                   "takes one, so nothing is sent")
    return values


def _pem_mistake(text: str) -> str:
    """What is wrong with a private key's text, when it is a common slip."""
    if "PUBLIC KEY-----" in text:
        return "it is a public key: the private one signs, the vendor keeps the public one"
    if "-----BEGIN" not in text:
        return ("it is not PEM text, which starts -----BEGIN; a key in a file is read with "
                "secret('NAME') from the file named by NAME_FILE")
    return ""
