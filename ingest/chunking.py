"""Split loaded text into chunks that fit the embedding model, with heading paths and spans."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter
from markdown_it import MarkdownIt

from ingest.loaders import Loaded
from rag.chunks import Chunk, short_hash
from rag.errors import UnsupportedFile

# "," before "": a one-line CSV is cut between its fields, not between its characters.
SEPARATORS = ["\n\n", "\n", ". ", "; ", ", ", " ", ",", ""]
# Raise when the same file and settings give other chunks: ingest then chunks stored files again.
# 2: pieces measured without the encoder's special tokens (single-line text got chunks 5-8x too small).
# 3: long blocks split a window at a time (chunks never cross a window's end), so the cap stops work early.
# 4: tables written a row per line, their column headings the heading of their chunks (ingest/tables.py).
VERSION = 4
# Text handed to the splitter at once: its work and memory grow with what it is given (a 25 MB one-line CSV
# took 191 s and 4 GB before the chunk cap was checked), so a long block goes a window at a time.
WINDOW_CHARS = 20_000
WINDOW_CUTS = ["\n\n", "\n", ". ", " ", ","]


def chunking_key(settings) -> str:
    """How chunks are made: the chunker's version and the settings that shape them."""
    made = (VERSION, settings.chunk_tokens, settings.chunk_overlap, settings.embed_titles, settings.pdf_parser,
            settings.tables)
    if settings.embedding_model != "minilm":  # chunks are measured in the model's own tokens
        made += (settings.embedding_model,)
    return short_hash("chunking", *map(str, made))


@dataclass
class Block:
    """A run of text that chunks never cross: a PDF page or a Markdown section."""

    text: str
    offset: int  # where text starts in the page (PDF) or the document
    page: int | None
    headings: str


def markdown_blocks(text: str, page: int | None = None) -> list[Block]:
    lines = text.splitlines(keepends=True)
    line_starts = [0]
    for line in lines:
        line_starts.append(line_starts[-1] + len(line))
    tokens = MarkdownIt().parse(text)
    cuts: list[tuple[int, int, str]] = []  # (line, level, title)
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.map:
            cuts.append((token.map[0], int(token.tag[1]), tokens[i + 1].content.strip()))
    blocks, path = [], []
    bounds = [(0, 0, "")] + cuts
    for n, (line, level, title) in enumerate(bounds):
        if level:
            path = [p for p in path if p[0] < level] + [(level, title)]
        end_line = bounds[n + 1][0] if n + 1 < len(bounds) else len(lines)
        start, end = line_starts[line], line_starts[end_line]
        if text[start:end].strip():
            blocks.append(Block(text[start:end], start, page, " > ".join(t for _, t in path)))
    return blocks


def blocks_of(loaded: Loaded) -> list[Block]:
    blocks = []
    for s in loaded.sections:
        made = markdown_blocks(s.text, s.page) if loaded.markdown else [Block(s.text, 0, s.page, "")]
        blocks += [piece for b in made for piece in _tables_apart(b, s.tables) if piece.text.strip()]
    return blocks


def _tables_apart(block: Block, tables) -> list[Block]:
    """The block cut where its tables start and end; a table's chunks carry its column headings as a heading."""
    pieces, at = [], block.offset
    end = block.offset + len(block.text)
    for table in tables:
        start, stop = max(table.start, at), min(table.end, end)
        if start >= stop:
            continue
        pieces.append(Block(block.text[at - block.offset:start - block.offset], at, block.page, block.headings))
        heading = " > ".join(filter(None, [block.headings, table.heading]))
        pieces.append(Block(block.text[start - block.offset:stop - block.offset], start, block.page, heading))
        at = stop
    pieces.append(Block(block.text[at - block.offset:], at, block.page, block.headings))
    return pieces


class Chunker:
    def __init__(self, count_tokens: Callable[[str], int], chunk_tokens: int, overlap: int, max_tokens: int,
                 max_chunks: int = 0):
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.max_chunks = max_chunks  # 0: no bound
        # The splitter adds up its pieces' lengths: counted with the encoder's [CLS] and [SEP] each, a
        # chunk of one-token pieces (words, CSV fields) held a third of the text it should.
        specials = count_tokens("")
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=min(chunk_tokens, max_tokens),
            chunk_overlap=overlap,
            length_function=lambda text: count_tokens(text) - specials,
            separators=SEPARATORS,
            keep_separator="end",
        )

    def split(self, loaded: Loaded, document_id: str, collection: str, source: str) -> list[Chunk]:
        """The chunks, made as the text is read: past the cap the file fails at once, its rest never split."""
        chunks: list[Chunk] = []
        seen: set[str] = set()
        for block in blocks_of(loaded):
            for text, start in self._pieces(block):
                if sum(ch.isalnum() for ch in text) < 3 or _only_heading(text):
                    continue
                chunk_id = short_hash("chunk", document_id, text)
                if chunk_id in seen:  # repeated boilerplate (page headers, footers) is kept once
                    continue
                seen.add(chunk_id)
                if self.max_chunks and len(chunks) >= self.max_chunks:
                    raise UnsupportedFile(f"more than {self.max_chunks:,} chunks of text (RAG_MAX_FILE_CHUNKS): "
                                          "split the file, or raise the limit")
                chunks.append(Chunk(
                    id=chunk_id, document_id=document_id, collection=collection, source=source, text=text,
                    index=len(chunks), start=start, end=start + len(text), page=block.page, headings=block.headings,
                ))
        return chunks

    def _pieces(self, block: Block) -> Iterator[tuple[str, int]]:
        """(text, where it starts in the page or document), a window of the block at a time."""
        for window, at in windows(block.text):
            position = 0
            for piece in self.splitter.split_text(window):
                # Pieces come in order; the splitter's own start_index mistakes token overlap for characters.
                found = window.find(piece, position)
                position = found + 1 if found >= 0 else position
                yield from self._fit(piece, block.offset + at + max(found, 0))

    def _fit(self, text: str, start: int) -> list[tuple[str, int]]:
        """The splitter measures pieces, not their joins: halve anything still too long for the encoder."""
        if self.count_tokens(text) <= self.max_tokens:
            return [(text, start)]
        middle = len(text) // 2
        cut = text.rfind(" ", 0, middle)
        cut = cut if cut > 0 else middle
        return self._fit(text[:cut], start) + self._fit(text[cut:].lstrip(), start + len(text) - len(text[cut:].lstrip()))


def windows(text: str, size: int = WINDOW_CHARS):
    """(window, its offset): the text cut every `size` characters or a little before, where a paragraph, a
    line, a sentence, a word or a field ends."""
    at = 0
    while len(text) - at > size:
        end = at + size
        cut = next((found + len(sep) for sep in WINDOW_CUTS if (found := text.rfind(sep, at + size // 2, end)) >= 0),
                   end)
        yield text[at:cut], at
        at = cut
    yield text[at:], at


def _only_heading(text: str) -> bool:
    return text.lstrip().startswith("#") and "\n" not in text.strip()
