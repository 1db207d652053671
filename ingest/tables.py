"""Tables as text that keeps their structure: a line per row, each cell beside its column's heading
("Revenue | Q2 2023: 1,234 | Q2 2022: 1,100"). A row read alone, in a chunk or a citation, still says what
each figure is."""

import re


def row_line(label: str, cells: list[tuple[str, str]]) -> str:
    """One row: its label, then each (heading, value); a value without a heading stands alone."""
    parts = [label.strip()] if label.strip() else []
    parts += [f"{heading}: {value}" if heading else value for heading, value in cells if value]
    return " | ".join(parts)


def grid_lines(grid: list[list[str]]) -> list[str]:
    """A table given as rows of cells (DOCX, HTML, Markdown): the first row holds the headings, the first
    column the labels. A table of one row is written cell by cell."""
    grid = [[_clean(c) for c in row] for row in grid]
    grid = [row for row in grid if any(row)]
    if len(grid) < 2:
        return [" | ".join(c for c in row if c) for row in grid]
    headings, rows = grid[0], grid[1:]
    lines = [" | ".join(c for c in headings if c)]
    for row in rows:
        label = row[0]
        cells = [(headings[k] if k < len(headings) else "", value) for k, value in enumerate(row[1:], start=1)]
        lines.append(row_line(label, cells))
    return lines


def _clean(cell: str) -> str:
    return re.sub(r"\s+", " ", cell or "").strip()


PIPE_ROW = re.compile(r"^\s*\|?(.+?)\|?\s*$")
DIVIDER = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def markdown_tables(text: str) -> str:
    """Markdown pipe tables (as trafilatura writes HTML's) rewritten a row per line with headings."""
    lines = text.split("\n")
    out, n = [], 0
    while n < len(lines):
        if n + 1 < len(lines) and "|" in lines[n] and DIVIDER.match(lines[n + 1]):
            end = n + 2
            while end < len(lines) and "|" in lines[end] and lines[end].strip():
                end += 1
            grid = [_pipe_cells(lines[k]) for k in [n] + list(range(n + 2, end))]
            out.extend(grid_lines(grid))
            n = end
        else:
            out.append(lines[n])
            n += 1
    return "\n".join(out)


def _pipe_cells(line: str) -> list[str]:
    inner = PIPE_ROW.match(line)
    return [c.strip() for c in re.split(r"(?<!\\)\|", inner.group(1) if inner else line)]
