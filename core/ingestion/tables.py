"""Markdown tables inside text: kept whole in one chunk, or cut by rows with the header repeated
when one chunk cannot hold them, so retrieval always returns whole rows with their header."""

from __future__ import annotations

import re
from collections.abc import Callable

from core.text import count_tokens

_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _cells(line: str) -> list[str]:
    line = line.strip()
    line = line[1:] if line.startswith("|") else line
    line = line[:-1] if line.endswith("|") and not line.endswith("\\|") else line
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]


def markdown_table_rows(text: str) -> list[tuple[int, int, dict[str, str], str]]:
    """(table no., row no., header -> cell, source line) for each body row of each markdown table."""
    lines = text.split("\n")
    out, table_no, i = [], 0, 0
    while i < len(lines) - 1:
        if "|" in lines[i] and "|" in lines[i + 1] and _TABLE_RULE.match(lines[i + 1]):
            table_no += 1
            headers = [h or f"column_{n}" for n, h in enumerate(_cells(lines[i]), start=1)]
            i += 2
            row_no = 0
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                cells = _cells(lines[i])
                if any(cells):
                    row_no += 1
                    row = {h: (cells[n] if n < len(cells) else "") for n, h in enumerate(headers)}
                    out.append((table_no, row_no, row, lines[i]))
                i += 1
        else:
            i += 1
    return out


def _is_table_start(lines: list[str], i: int) -> bool:
    return i + 1 < len(lines) and lines[i].lstrip().startswith("|") and bool(_TABLE_RULE.match(lines[i + 1]))


def segments(text: str) -> list[tuple[bool, str]]:
    """The text as (is a table, text) runs, in order; joined with "\n" they give the text back."""
    lines = text.split("\n")
    out: list[tuple[bool, list[str]]] = []
    i = 0
    while i < len(lines):
        if _is_table_start(lines, i):
            end = i + 2
            while end < len(lines) and lines[end].lstrip().startswith("|"):
                end += 1
            out.append((True, lines[i:end]))
            i = end
        else:
            if not out or out[-1][0]:
                out.append((False, []))
            out[-1][1].append(lines[i])
            i += 1
    return [(is_table, "\n".join(chunk)) for is_table, chunk in out]


def table_pieces(table: str, size: int) -> list[tuple[str, str]]:
    """(chunk text, its verbatim body rows) for one Markdown table within `size` tokens a piece."""
    if count_tokens(table) <= size:
        return [(table, table)]
    lines = table.split("\n")
    head, rows = lines[:2], [r for r in lines[2:] if r.strip()]
    budget = size - count_tokens("\n".join(head))
    pieces: list[list[str]] = [[]]
    used = 0
    for row in rows:
        cost = count_tokens(row) + 1
        if pieces[-1] and used + cost > budget:
            pieces.append([])
            used = 0
        pieces[-1].append(row)  # a single row longer than the budget still stays whole
        used += cost
    return [("\n".join(head + piece), "\n".join(piece)) for piece in pieces if piece]


def split_keeping_tables(text: str, size: int, split_prose: Callable[[str], list[str]]) -> list[tuple[str, str]]:
    """(chunk text, a verbatim part of it to locate it by).

    A table that fits in a chunk stays in the prose, which `split_prose` never cuts inside a
    paragraph that fits (a table is one paragraph); a larger one is cut by table_pieces."""
    out: list[tuple[str, str]] = []
    prose: list[str] = []

    def flush() -> None:
        out.extend((piece, piece) for piece in split_prose("\n".join(prose)))
        prose.clear()

    for is_table, part in segments(text):
        if is_table and count_tokens(part) > size:
            flush()
            out.extend(table_pieces(part, size))
        else:
            prose.append(part)
    flush()
    return out
