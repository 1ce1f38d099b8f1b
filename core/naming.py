"""Free names: `report.pdf` taken -> `report(1).pdf`, then `report(2).pdf` (an existing counter is raised)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePath

from core.errors import Conflict

COUNTER = re.compile(r"^(.*?)\((\d+)\)$")
MAX_TRIES = 1000


def free_name(name: str, taken: Callable[[str], bool]) -> str:
    """`name`, or the first `stem(n)suffix` for which `taken` is false."""
    for _ in range(MAX_TRIES):
        if not taken(name):
            return name
        path = PurePath(name)
        stem, suffix = (path.stem, path.suffix) if path.name == name else (name, "")
        match = COUNTER.match(stem)
        main, count = (match.group(1).rstrip(), int(match.group(2)) + 1) if match else (stem, 1)
        name = f"{main}({count}){suffix}"
    raise Conflict(f"No free name near {name!r} after {MAX_TRIES} tries")
