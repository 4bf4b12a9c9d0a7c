"""An API key in a query parameter or a header, as the spec says (the CRM: `?api_key=`)."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import httpx


@dataclass
class ApiKeyAuth(httpx.Auth):
    """An API key, in the query or a header."""

    key: str
    location: str = "query"
    name: str = "api_key"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.location == "query":
            request.url = request.url.copy_merge_params({self.name: self.key})
        else:
            request.headers[self.name] = self.key
        yield request
