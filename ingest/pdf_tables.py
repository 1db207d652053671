"""Tables on a PDF page, read from where pdfium puts each character: a run of lines whose figures stand in
columns becomes a line per row ("Gross margin: 36,413 | 35,885"), and the headings above the columns its
heading ("Three Months Ended July 1, 2023 | Three Months Ended June 25, 2022"; ingest.tables). The rest of the
page's text is pdfium's, in its own order."""

import re
from dataclasses import dataclass, field
from statistics import median

from ingest.tables import Region, heading_line, row_line

FIGURE = re.compile(r"^[(\[]?[-−–—+]?[$€£¥]?\s?[(]?\d[\d,.\s]*\)?\s?%?[)\]]?\*?(\s?[$€£¥])?$|^[-−–—]+$")
YEAR = re.compile(r"^(19|20)\d\d$")
CURRENCY = {"$", "€", "£", "¥", "%"}
MIN_ROWS = 3  # lines with figures in columns before a run counts as a table
CELL_GAP = 1.0  # a gap wider than this many line heights ends a cell (a space is about a third of one)
HEADING_REACH = 6  # heading lines sit at most this many line heights above the first row


@dataclass
class Cell:
    text: str
    x0: float
    x1: float

    @property
    def figure(self) -> bool:
        return bool(FIGURE.match(self.text))


@dataclass
class Line:
    start: int  # characters of the page's text
    end: int
    cells: list[Cell]
    top: float
    bottom: float
    height: float
    label: str = ""
    values: list[Cell] = field(default_factory=list)
    years: bool = False  # figures that are all years: a heading ("Three Months Ended September 30, | 2023 | 2022")

    @property
    def x0(self) -> float:
        return self.cells[0].x0

    @property
    def x1(self) -> float:
        return self.cells[-1].x1


def page_text(textpage) -> tuple[str, list[Region]]:
    """The page's text with its tables written a row per line, and where each table stands."""
    count = textpage.count_chars()
    text = textpage.get_text_range(0, count) if count > 0 else ""
    if count <= 0 or len(text) != count or not any(ch.isdigit() for ch in text):
        return text, []
    lines = _lines(text, [textpage.get_charbox(i) for i in range(count)])
    out, at, regions, written = [], 0, [], 0
    for first, last, rows, heading in _tables(lines):
        before = text[at:first].rstrip() + "\n\n"
        table = "\n".join(rows)
        regions.append(Region(written + len(before), written + len(before) + len(table), heading))
        out += [before, table + "\n\n"]
        written += len(before) + len(table) + 2
        at = last
    out.append(text[at:].lstrip())
    return ("".join(out), regions) if at else (text, [])


def _lines(text: str, boxes: list[tuple[float, float, float, float]]) -> list[Line]:
    lines, start = [], 0
    for end in [m.start() for m in re.finditer(r"\r?\n", text)] + [len(text)]:
        words = _words(text, boxes, start, end)
        if words:
            heights = [b[3] - b[1] for i in range(start, end) if (b := boxes[i])[3] > b[1]]
            height = median(heights) if heights else 1.0
            tops = [b[3] for i in range(start, end) if boxes[i][3] > boxes[i][1]]
            bottoms = [b[1] for i in range(start, end) if boxes[i][3] > boxes[i][1]]
            lines.append(Line(start, end, _cells(words, height), max(tops), min(bottoms), height))
        start = end + (2 if text.startswith("\r\n", end) else 1)
    for line in lines:
        _split_row(line)
    return lines


def _words(text, boxes, start, end) -> list[Cell]:
    words, current = [], None
    for i in range(start, end):
        ch, (x0, _, x1, _) = text[i], boxes[i]
        if ch.isspace() or ch == "\x00":
            current = None
            continue
        if current is None:
            current = Cell(ch, x0, x1)
            words.append(current)
        else:
            current.text += ch
            current.x1 = max(current.x1, x1)
    return words


def _cells(words: list[Cell], height: float) -> list[Cell]:
    cells = [Cell(words[0].text, words[0].x0, words[0].x1)]
    for word in words[1:]:
        if word.x0 - cells[-1].x1 > CELL_GAP * height:
            cells.append(Cell(word.text, word.x0, word.x1))
        else:
            cells[-1].text += " " + word.text
            cells[-1].x1 = max(cells[-1].x1, word.x1)
    return [c for c in cells if c.text not in CURRENCY or c is cells[0]]


def _split_row(line: Line) -> None:
    """A row: a label (none, or cells with words), then only figures."""
    first = next((n for n, c in enumerate(line.cells) if c.figure), None)
    if first is None or not all(c.figure for c in line.cells[first:]):
        return
    values = line.cells[first:]
    if all(YEAR.match(c.text) for c in values):
        line.years = True
        return
    line.label = " ".join(c.text for c in line.cells[:first])
    line.values = [Cell(re.sub(r"[$€£¥\s]", "", c.text), c.x0, c.x1) for c in values]


def _tables(lines: list[Line]):
    """(first character, last character, row lines, heading) of each run of lines with figures in columns."""
    n, before = 0, None
    while n < len(lines):
        if not (lines[n].values and lines[n].label):  # a table starts at a labelled row: years above it are headings
            n += 1
            continue
        end, rows = _run(lines, n)
        if len([r for r in rows if r.values]) >= MIN_ROWS:
            k = _labels_before(lines, n, rows)
            rows = lines[k:n] + rows
            headings = _headings(lines, k, rows)
            first = headings[0].start if headings else rows[0].start
            columns = _columns(rows)
            names = _names(columns, headings)
            if not any(names) and before is not None:  # a table carried on past a label line keeps its headings
                names = _carried(columns, *before)
            before = columns, names
            yield first, rows[-1].end, _render(rows, columns), heading_line("", names)
        n = end


def _run(lines: list[Line], n: int) -> tuple[int, list[Line]]:
    """The rows from line n on: figure lines, and label lines that sit in the label column between them."""
    rows = [lines[n]]
    first_column = min(c.x0 for c in lines[n].values)
    k = n + 1
    while k < len(lines):
        line = lines[k]
        # A row's figures stand in the columns, not left of them (a page number under the table is no row).
        in_columns = min(c.x1 for c in line.values) > first_column if line.values else False
        if in_columns and abs(line.height - rows[0].height) < 0.5 * rows[0].height:
            first_column = min(first_column, min(c.x0 for c in line.values))
            rows.append(line)
        elif not line.values and line.x1 < first_column and k + 1 < len(lines) and lines[k + 1].values:
            rows.append(line)
        else:
            break
        k += 1
    while rows and not rows[-1].values:
        rows.pop()
    return n + len(rows), rows


def _labels_before(lines: list[Line], n: int, rows: list[Line]) -> int:
    """Where the table starts: label lines right before its first row ("Current assets:") are its own."""
    first_column = min(c.x0 for r in rows for c in r.values)
    k = n
    while k > 0 and not lines[k - 1].values and lines[k - 1].x1 < first_column \
            and lines[k - 1].bottom - lines[k].top < 2 * lines[k].height:
        k -= 1
    return k


def _headings(lines: list[Line], n: int, rows: list[Line]) -> list[Line]:
    """The lines just before the first row, above it and right of every label: the columns' headings."""
    first_column = min(c.x0 for r in rows for c in r.values)
    labels_end = max((r.cells[0].x1 for r in rows if r.values and r.label), default=first_column)
    found = []
    for line in reversed(lines[:n]):
        above = line.bottom >= rows[0].top - 0.2 * line.height
        near = line.bottom - rows[0].top < HEADING_REACH * rows[0].height
        if not (above and near and (line.x0 > labels_end or line.years)):
            break
        found.append(line)
    return found[::-1]


def _columns(rows: list[Line]) -> list[tuple[float, float]]:
    spans = sorted((c.x0, c.x1) for r in rows for c in r.values)
    columns: list[list[float]] = []
    for x0, x1 in spans:
        if columns and x0 <= columns[-1][1]:
            columns[-1][1] = max(columns[-1][1], x1)
        else:
            columns.append([x0, x1])
    return [(a, b) for a, b in columns]


def _carried(columns, earlier, names) -> list[str]:
    matched = [next((name for (x0, x1), name in zip(earlier, names) if x0 < b and x1 > a), "") for a, b in columns]
    return matched if all(matched) else [""] * len(columns)


def _render(rows: list[Line], columns: list[tuple[float, float]]) -> list[str]:
    out, group, members = [], None, None
    for row in rows:
        if not row.values:
            group, members = row, None
            out.append(" ".join(c.text for c in row.cells))
            continue
        # A label line heads the rows indented under it, as far as they keep one indent (totals often differ).
        if group is not None and members is None and row.x0 > group.x0 + 0.5 * row.height:
            members = row.x0
        if group is not None and (members is None or abs(row.x0 - members) > 0.5 * row.height):
            group = None
        label = row.label
        if group is not None:
            lead = group.cells[0].text  # "Current assets:" heads its rows; a line without the colon is a label's start
            label = f"{lead[:-1]}, {label}" if lead.endswith(":") and label else f"{lead} {label}".strip()
        cells = [""] * len(columns)
        for value in row.values:
            middle = (value.x0 + value.x1) / 2
            k = min(range(len(columns)), key=lambda j: _distance(middle, columns[j]))
            cells[k] = f"{cells[k]} {value.text}".strip()
        out.append(row_line(label, cells))
    return out


def _names(columns: list[tuple[float, float]], headings: list[Line]) -> list[str]:
    """Each column's heading, read down the heading lines. A band with fewer cells than columns spans them:
    "Three Months Ended" heads every column from its start to the next band cell's."""
    bands: list[list[Cell]] = []
    top = None
    for line in sorted(headings, key=lambda h: -h.top):
        if top is not None and abs(line.top - top) < 0.5 * line.height:
            bands[-1] += line.cells
        else:
            bands.append(list(line.cells))
            top = line.top
    parts: list[list[str]] = [[] for _ in columns]
    for band in bands:
        band.sort(key=lambda c: c.x0)
        # Left of every column by a column's width or more (in the labels' place): it heads them all.
        lead = columns[0][0] - (columns[0][1] - columns[0][0])
        for cell in [c for c in band if c.x1 < lead]:
            for part in parts:
                part.append(cell.text)
        band = [c for c in band if c.x1 >= lead]
        for k, (x0, x1) in enumerate(columns):
            if len(band) < len(columns):
                cell = next((c for c in reversed(band) if c.x0 < x1), None)
                if cell is not None and (cell.x1 > x0 or cell is not band[-1] or x0 - cell.x1 < 4 * (x1 - x0)):
                    parts[k].append(cell.text)
            else:  # a heading is centred over its column, which its figures may not fill: the nearest column's
                parts[k] += [c.text for c in band if _nearest(c, columns) == k]
    return [" ".join(p) for p in parts]


def _nearest(cell: Cell, columns: list[tuple[float, float]]) -> int:
    middle = (cell.x0 + cell.x1) / 2
    return min(range(len(columns)), key=lambda j: abs(middle - (columns[j][0] + columns[j][1]) / 2))


def _distance(x: float, column: tuple[float, float]) -> float:
    return 0.0 if column[0] <= x <= column[1] else min(abs(x - column[0]), abs(x - column[1]))
