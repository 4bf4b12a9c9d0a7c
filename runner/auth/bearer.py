"""A bearer token in the Authorization header."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import httpx


@dataclass
class BearerAuth(httpx.Auth):
    """A bearer token in the Authorization header."""

    token: str

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request
