"""Tables as text that keeps their structure: a line per row, its label then its cells in column order
("Gross margin: 36,413 | 35,885"), and the column headings ("Three Months Ended July 1, 2023 | Three Months
Ended June 25, 2022") kept as the heading of every chunk the rows land in (ingest.chunking), as a section's
title is: each chunk of a table says what its figures are, and its rows stay short enough that a small context
holds many."""

import re
from dataclasses import dataclass


@dataclass
class Region:
    """Where a table stands in a section's text, and its column headings."""

    start: int
    end: int
    heading: str


def row_line(label: str, cells: list[str]) -> str:
    """One row: its label, then its cells in column order (an empty one kept, so that the rest stay in place)."""
    values = " | ".join(c.strip() for c in cells).rstrip(" |")
    label = label.strip()
    return f"{label}: {values}" if label and values else label or values


def heading_line(label_heading: str, headings: list[str]) -> str:
    return row_line(label_heading, headings) if any(h.strip() for h in headings) else ""


def grid_table(grid: list[list[str]]) -> tuple[list[str], str]:
    """A table given as rows of cells (DOCX, HTML, Markdown): its row lines and its heading. The first row holds
    the headings, the first column the labels; a table of one row is a row."""
    grid = [[_clean(c) for c in row] for row in grid]
    grid = [row for row in grid if any(row)]
    if len(grid) < 2:
        return [" | ".join(c for c in row if c) for row in grid], ""
    return [row_line(row[0], row[1:]) for row in grid[1:]], heading_line(grid[0][0], grid[0][1:])


def _clean(cell: str) -> str:
    return re.sub(r"\s+", " ", cell or "").replace("|", "/").strip()


PIPE_ROW = re.compile(r"^\s*\|?(.+?)\|?\s*$")
DIVIDER = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def markdown_tables(text: str) -> tuple[str, list[Region]]:
    """Markdown pipe tables (as trafilatura writes HTML's) rewritten a row per line, and where each stands."""
    lines = text.split("\n")
    out: list[str] = []
    regions: list[Region] = []
    at, n = 0, 0  # characters written, line read
    while n < len(lines):
        if n + 1 < len(lines) and "|" in lines[n] and DIVIDER.match(lines[n + 1]):
            end = n + 2
            while end < len(lines) and "|" in lines[end] and lines[end].strip():
                end += 1
            rows, heading = grid_table([_pipe_cells(lines[k]) for k in [n] + list(range(n + 2, end))])
            written = "\n".join(rows)
            regions.append(Region(at, at + len(written), heading))
            out.append(written)
            n = end
        else:
            out.append(lines[n])
            n += 1
        at += len(out[-1]) + 1
    return "\n".join(out), regions


def _pipe_cells(line: str) -> list[str]:
    inner = PIPE_ROW.match(line)
    return [c.strip() for c in re.split(r"(?<!\\)\|", inner.group(1) if inner else line)]
