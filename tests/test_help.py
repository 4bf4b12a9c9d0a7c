"""`outbound --help` and each group's: what a newcomer reads first."""

from __future__ import annotations

import pytest

from tests.conftest import outbound


@pytest.mark.parametrize("group", [(), ("specs",), ("runs",), ("sim",)])
def test_every_commands_summary_is_whole_in_the_help(group: tuple[str, ...]) -> None:
    """click cuts a command's first sentence to fit its listing ('Remove old runs from the
    journal, finished or not, and shrink...'); each is short enough to be read whole."""
    listing = outbound(*group, "--help").output.split("Commands:\n")[1]
    cut = [line.strip() for line in listing.splitlines() if line.endswith("...")]
    assert cut == []
