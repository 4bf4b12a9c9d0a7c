"""The proxy a live service is reached through: the environment's, as curl and pip take it.

`HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http ones, `ALL_PROXY` for either, each also
in lower case (which wins). `NO_PROXY` lists, by commas, the hosts reached directly:
`vendor.example` (and its subdomains), `.example` (a domain's hosts), `host:8443` (that port
only), `10.0.0.0/8` (the addresses in it), `*` (every host), as curl takes them. A proxy
given without a scheme is an HTTP one, as curl takes it too. Only HTTP(S) proxies are spoken:
a SOCKS one is refused rather than passed by.

This machine's own addresses (`localhost`, 127.0.0.0/8, ::1) are always reached directly, as
Go's net/http reaches them: no proxy can reach them for us, and a simulator served on one
(`outbound sim serve`) would otherwise be asked of a corporate proxy that answers 502.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from runner.errors import InputError
from runner.secrets import REDACTOR


@dataclass(frozen=True)
class Proxy:
    url: str  # as given, its credentials too: for the transport only
    variable: str  # the environment variable it came from

    def __str__(self) -> str:
        """The proxy as messages name it: its address and where it came from, no password."""
        return f"{_shown(self.url)} ({self.variable})"


def proxy_for(base_url: str, environ: Mapping[str, str] = os.environ) -> Proxy | None:
    """The proxy a service at `base_url` is reached through; None: directly. InputError for a
    proxy that cannot be used."""
    target = urlsplit(base_url)
    found = next(((name, environ[name]) for scheme in (target.scheme, "all")
                  for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY")
                  if environ.get(name)), None)
    no_proxy = environ.get("no_proxy") or environ.get("NO_PROXY") or ""
    port = target.port or (443 if target.scheme == "https" else 80)
    host = target.hostname or ""
    if found is None or _loopback(host) or _bypassed(host, port, no_proxy):
        return None
    variable, url = found
    if "://" not in url:
        url = f"http://{url}"
    parts = urlsplit(url)
    if parts.password:
        REDACTOR.add(parts.password)
    if parts.scheme not in ("http", "https"):
        raise InputError.plain(
            f"{variable} names the proxy {_shown(url)}, which outbound cannot use: it speaks "
            "to HTTP and HTTPS proxies only; name one, or reach the vendor directly (NO_PROXY)")
    try:
        proxy_port = parts.port
    except ValueError as exc:  # a port that is not one
        raise InputError.plain(f"{variable}: {_shown(url)} is not a proxy's URL ({exc})") \
            from None
    if not parts.hostname or proxy_port == 0:
        raise InputError.plain(f"{variable}: {_shown(url)} names no proxy to connect to")
    return Proxy(url, variable)


def _shown(url: str) -> str:
    """A proxy's URL without its credentials."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _loopback(host: str) -> bool:
    if host == "localhost":  # urlsplit gives it in lower case
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bypassed(host: str, port: int, no_proxy: str) -> bool:
    """Whether NO_PROXY's list has `host` (a name, or an address: urlsplit's `hostname`)."""
    for entry in filter(None, (part.strip().lower() for part in no_proxy.split(","))):
        if entry == "*":
            return True
        try:  # an address, or a network
            if ipaddress.ip_address(host) in ipaddress.ip_network(entry.strip("[]"),
                                                                   strict=False):
                return True
            continue
        except ValueError:
            pass
        name, only_port = entry, ""
        if entry.count(":") == 1:  # host:port (an IPv6 address has more)
            name, _, only_port = entry.partition(":")
        if only_port and only_port != str(port):
            continue
        name = name.lstrip("*").lstrip(".")
        if host == name or host.endswith(f".{name}"):
            return True
    return False
