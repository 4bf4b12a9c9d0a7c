"""Following a list endpoint's pages, as its spec says, with guards against endless paging.

A walk stops at the first of: the total reached, a short page, an empty page. A page that
repeats the one before (a vendor ignoring the offset) stops it with a warning. Reaching the
`max_pages` cap, or a page with more items than asked for, is an error: the list would be
incomplete or not the one asked for, and later steps must not act on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runner.engine.responses import CheckedResponse, dig
from runner.errors import Finding, Location, ResponseInvalid
from runner.spec import Endpoint

DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class Paged:
    """Every page's items of a list call, and its last answer."""

    items: list[Any]
    pages: int
    last: CheckedResponse


async def fetch_all(endpoint: Endpoint, params: Mapping[str, Any],
                    send: Callable[[dict[str, Any]], Awaitable[CheckedResponse]],
                    warn: Callable[[str], None], *, page_size: int | None,
                    max_pages: int) -> Paged:
    """Every item of every page, in order."""
    items: list[Any] = []
    pages = 0
    last: CheckedResponse | None = None
    async for page, checked in iter_pages(endpoint, params, send, warn, page_size=page_size,
                                          max_pages=max_pages):
        items.extend(page)
        pages += 1
        last = checked
    assert last is not None
    return Paged(items, pages, last)


async def iter_pages(endpoint: Endpoint, params: Mapping[str, Any],
                     send: Callable[[dict[str, Any]], Awaitable[CheckedResponse]],
                     warn: Callable[[str], None], *, page_size: int | None,
                     max_pages: int) -> AsyncIterator[tuple[list[Any], CheckedResponse]]:
    """Each page's items as it arrives (a stream holds one page at a time)."""
    pagination = endpoint.pagination
    assert pagination is not None
    size_param, position_param = pagination.size_param, pagination.position_param
    size = int(params.get(size_param) or page_size or
               endpoint.params[size_param].schema.get("default", DEFAULT_PAGE_SIZE))
    first = 0 if pagination.style == "offset" else pagination.first_page
    position = int(params.get(position_param, first))
    previous: list[Any] | None = None
    pages = seen_items = 0
    while True:
        checked = await send({**params, size_param: size, position_param: position})
        pages += 1
        page = _items_on(endpoint, checked, pages, size)
        if page and page == previous:
            warn(f"page {pages} of {endpoint.qualified_name} repeats the page before it; "
                 "stopped paging (the vendor may be ignoring the page position)")
            if pages == 1:
                yield [], checked
            return
        seen_items += len(page)
        yield page, checked
        seen = (position + len(page) if pagination.style == "offset"
                else (position - first) * size + len(page))
        total = dig(checked.body, pagination.total) if pagination.total else None
        if not page or len(page) < size or (isinstance(total, int) and seen >= total):
            return
        if pages >= max_pages:
            of = f" of {total}" if isinstance(total, int) else ""
            raise ResponseInvalid([Finding(Location(), (
                f"{endpoint.qualified_name}: still more after max_pages={max_pages} pages "
                f"({seen_items} items{of}); the list would be incomplete. If it is really "
                "this long, raise paginate.max_pages"))])
        position += size if pagination.style == "offset" else 1
        previous = page


def _items_on(endpoint: Endpoint, checked: CheckedResponse, page: int, size: int) -> list[Any]:
    """The items of page number `page`, which asked for `size` of them."""
    assert endpoint.pagination is not None
    items = dig(checked.body, endpoint.pagination.items)
    if items is None:
        return []
    if not isinstance(items, list):
        raise ResponseInvalid([Finding(Location(), f"{endpoint.qualified_name}: "
                                       f"{endpoint.pagination.items} is not a list on page "
                                       f"{page}")])
    if len(items) > size:
        raise ResponseInvalid([Finding(Location(), f"{endpoint.qualified_name}: page {page} "
                                       f"has {len(items)} items, more than the {size} asked "
                                       "for (the vendor ignores the page size)")])
    return items
