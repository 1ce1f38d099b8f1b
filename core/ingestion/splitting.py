"""Chunking: ParsedDocument -> ChunkDrafts, on top of LlamaIndex node parsers.

Every method splits the document's full text (sections joined) and then finds each chunk
back in that text, so chunks may span pages yet always know which page(s) they came from.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache

from core.errors import InvalidInput
from core.ingestion.readers import SECTION_JOINER, ParsedDocument, row_line
from core.ingestion.tables import markdown_table_rows, split_keeping_tables
from core.text import count_tokens, get_tokenizer

SPLIT_METHODS: tuple[str, ...] = ("general", "qa", "one", "markdown", "table")
MIN_CHUNK, MAX_CHUNK = 16, 8192


@dataclass
class SplitConfig:
    method: str = "general"
    chunk_size: int = 512  # tokens
    chunk_overlap: int = 64  # tokens
    separators: list[str] = field(default_factory=list)  # regexes; text is cut at these first

    def validate(self) -> None:
        if self.method not in SPLIT_METHODS:
            raise InvalidInput(f"Unknown split method '{self.method}' (valid: {', '.join(SPLIT_METHODS)})")
        size, overlap = self.chunk_size, self.chunk_overlap
        if not isinstance(size, int) or isinstance(size, bool) or not MIN_CHUNK <= size <= MAX_CHUNK:
            raise InvalidInput(f"chunk_size must be a whole number of tokens between {MIN_CHUNK} and {MAX_CHUNK} (got {size!r})")
        if not isinstance(overlap, int) or isinstance(overlap, bool) or not 0 <= overlap < size:
            raise InvalidInput(f"chunk_overlap must be at least 0 and smaller than chunk_size {size} (got {overlap!r})")
        for i, pattern in enumerate(self.separators, start=1):
            if not isinstance(pattern, str) or not pattern:
                raise InvalidInput(f"Separator {i} is empty; give a regular expression such as \\n\\n")
            try:
                rx = re.compile(pattern)
            except re.error as exc:
                raise InvalidInput(f"Separator {i} '{pattern}' is not a valid regular expression: {exc}") from None
            if rx.fullmatch(""):
                raise InvalidInput(f"Separator {i} '{pattern}' can match empty text; it must match at least one character")


@dataclass
class ChunkDraft:
    content: str
    meta: dict  # {"page": 3} | {"pages": [3, 4]}, {"headings": [...]}, {"row": 5, "sheet": ...}
    questions: list[str] = field(default_factory=list)  # qa chunks
    token_count: int = 0


# --- locating chunks in the document ---------------------------------------------------


class _Layout:
    """The document text plus where each section starts, to map offsets back to metadata."""

    def __init__(self, doc: ParsedDocument):
        self.text = doc.text.replace("\x00", "")
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.metas = [s.meta for s in doc.sections]
        pos = 0
        for s in doc.sections:
            self.starts.append(pos)
            pos += len(s.text.replace("\x00", ""))
            self.ends.append(pos)
            pos += len(SECTION_JOINER)
        self.cursor = 0

    def locate(self, piece: str) -> tuple[int, int]:
        """Span of `piece`, searching forward from the previous hit (chunks come in order)."""
        start = self.text.find(piece, self.cursor)
        if start < 0:
            start = self.text.find(piece)
        if start < 0:  # not verbatim (e.g. re-joined text): keep the last position
            return self.cursor, self.cursor + 1
        self.cursor = start
        return start, start + len(piece)

    def meta(self, start: int, end: int) -> dict:
        first = max(bisect_right(self.starts, start) - 1, 0)
        found = [self.metas[i] for i in range(first, len(self.starts)) if self.starts[i] < end and self.ends[i] > start]
        return merge_meta(found or self.metas[first : first + 1])

    def meta_of(self, piece: str) -> dict:
        return self.meta(*self.locate(piece))


def merge_meta(metas: list[dict]) -> dict:
    """Section metas -> chunk meta: one value stays as is, several become a list ("pages");
    list values (per-page OCR records) are concatenated."""
    values: dict[str, list] = {}
    lists: dict[str, list] = {}
    for m in metas:
        for k, v in m.items():
            bucket, items = (lists, v) if isinstance(v, list) else (values, [v])
            for item in items:
                if item not in bucket.setdefault(k, []):
                    bucket[k].append(item)
    out: dict = {}
    for k, vs in values.items():
        if len(vs) == 1:
            out[k] = vs[0]
        else:
            out[f"{k}s"] = vs
    return {**out, **lists}


# --- general -----------------------------------------------------------------------------

# Sentence ends the default (punkt) tokenizer does not know: Chinese/Japanese full stops.
_CJK_SENTENCE = re.compile(r"[^。！？…]*[。！？…]+[”’」』）)]*|[^。！？…]+")
# Clause level, used when a sentence is still too long (adds Chinese commas and newlines
# to LlamaIndex's default CHUNKING_REGEX). Every character matches one alternative.
_CLAUSE_REGEX = r"[^,.;:，、；：。？！!?\n]+[,.;:，、；：。？！!?\n]*|[,.;:，、；：。？！!?\n]+"
_NO_PARAGRAPHS = "\x00"  # SentenceSplitter's own paragraph step is replaced by _cutter()


def _sentences(text: str) -> list[str]:
    from llama_index.core.node_parser.text.utils import split_by_sentence_tokenizer_internal

    out: list[str] = []
    for sentence in split_by_sentence_tokenizer_internal(text, _punkt()):
        out.extend(_CJK_SENTENCE.findall(sentence))
    return out


@lru_cache(maxsize=1)
def _punkt():  # type: ignore[no-untyped-def]
    from nltk.tokenize import PunktSentenceTokenizer

    return PunktSentenceTokenizer()  # untrained: needs no NLTK data download


def _cut_at(rx: re.Pattern[str], text: str) -> list[str]:
    """Cut at each match. Punctuation/whitespace separators end the previous piece;
    word-like ones ("第.+条", "Article \\d+") start the next one."""
    pieces, last = [], 0
    for m in rx.finditer(text):
        cut = m.end() if not re.search(r"\w", m.group(0)) else m.start()
        if cut > last:
            pieces.append(text[last:cut])
            last = cut
    pieces.append(text[last:])
    return [p for p in pieces if p]


def _cutter(separators: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """SentenceSplitter's chunking function: custom separators, then paragraphs, then sentences.

    SentenceSplitter uses the first step that yields more than one piece and packs the
    pieces back up to chunk_size, so a piece is only cut further when it is too long.
    """
    rx = re.compile("|".join(f"(?:{p})" for p in separators)) if separators else None

    def cut(text: str) -> list[str]:
        if rx is not None:
            pieces = _cut_at(rx, text)
            if len(pieces) > 1:
                return pieces
        paragraphs = [p for p in re.split(r"(?<=\n\n)(?=[^\n])", text) if p]
        return paragraphs if len(paragraphs) > 1 else _sentences(text)

    return cut


@lru_cache(maxsize=32)
def _splitter(chunk_size: int, overlap: int, separators: tuple[str, ...]):  # type: ignore[no-untyped-def]
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(overlap, chunk_size - 1),
        tokenizer=get_tokenizer(),
        paragraph_separator=_NO_PARAGRAPHS,
        chunking_tokenizer_fn=_cutter(separators),
        secondary_chunking_regex=_CLAUSE_REGEX,
        include_prev_next_rel=False,
    )


def split_text(text: str, chunk_size: int, overlap: int = 0, separators: tuple[str, ...] = ()) -> list[str]:
    """Sentence-aware split into pieces of at most `chunk_size` tokens (verbatim substrings)."""
    text = text.replace("\x00", "")
    if not text.strip():
        return []
    try:
        return _splitter(chunk_size, overlap, tuple(separators)).split_text(text)
    except ValueError as exc:  # "Single token exceeded chunk size" on exotic input
        raise InvalidInput(f"The text could not be split into chunks of {chunk_size} tokens; try a larger chunk size") from exc


def _general(doc: ParsedDocument, cfg: SplitConfig, layout: _Layout) -> list[ChunkDraft]:
    separators = tuple(cfg.separators) or ((r"\n",) if doc.rows else ())  # keep table rows whole
    pieces = split_keeping_tables(layout.text, cfg.chunk_size,
                                  lambda prose: split_text(prose, cfg.chunk_size, cfg.chunk_overlap, separators))
    return [ChunkDraft(piece, layout.meta_of(anchor)) for piece, anchor in pieces]


# --- markdown ----------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_PATH_SEP = "\x1f"  # headings may contain "/", MarkdownNodeParser's default separator


def _markdown_sections(text: str) -> list[tuple[list[str], str, str]]:
    """(heading path, heading line, body) per section, via MarkdownNodeParser."""
    from llama_index.core.node_parser import MarkdownNodeParser
    from llama_index.core.schema import Document

    parser = MarkdownNodeParser(header_path_separator=_PATH_SEP, include_prev_next_rel=False)
    out = []
    for node in parser.get_nodes_from_documents([Document(text=text)]):
        content = node.get_content()
        parents = [h for h in node.metadata.get("header_path", "").split(_PATH_SEP) if h]
        first, _, rest = content.partition("\n")
        m = _HEADING.match(first)
        if m:
            out.append(([*parents, m.group(2)], first, rest.strip()))
        else:
            out.append((parents, "", content.strip()))
    return out


def _markdown(doc: ParsedDocument, cfg: SplitConfig, layout: _Layout) -> list[ChunkDraft]:
    drafts = []
    for headings, heading_line, body in _markdown_sections(layout.text):
        if not body:
            continue  # a heading alone; it lives on in its children's heading path
        whole = f"{heading_line}\n{body}" if heading_line else body
        if count_tokens(whole) <= cfg.chunk_size:
            drafts.append(ChunkDraft(whole, {**layout.meta_of(body), "headings": headings}))
            continue
        # Too long: re-split the body; every piece repeats the heading line so it stays
        # findable by its topic, within the same token budget.
        budget = cfg.chunk_size - count_tokens(heading_line + "\n") if heading_line else cfg.chunk_size
        prefix = heading_line + "\n" if budget >= MIN_CHUNK else ""
        budget = budget if prefix else cfg.chunk_size
        overlap = min(cfg.chunk_overlap, budget // 2)
        for piece, anchor in split_keeping_tables(
                body, budget, lambda prose: split_text(prose, budget, overlap, tuple(cfg.separators))):
            drafts.append(ChunkDraft(prefix + piece, {**layout.meta_of(anchor), "headings": headings}))
    return drafts


# --- qa ------------------------------------------------------------------------------------

_QA_MARK = re.compile(
    r"^\s*(?:[-*>]\s*)?(?:\*\*)?(?:(?P<q>q|question|问|问题)|(?P<a>a|answer|答|答案|回答))"
    r"\s*\d*\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*",
    re.IGNORECASE,
)


def _qa_from_markers(text: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    question: list[str] | None = None
    answer: list[str] | None = None

    def flush() -> None:
        if question is not None and answer is not None:
            q, a = "\n".join(question).strip(), "\n".join(answer).strip()
            if q and a:
                pairs.append((q, a))

    for line in text.split("\n"):
        m = _QA_MARK.match(line)
        if m and m.group("q"):
            flush()
            question, answer = [line[m.end():]], None
        elif m and question is not None and answer is None:
            answer = [line[m.end():]]
        elif answer is not None:
            answer.append(line)
        elif question is not None:
            question.append(line)  # question wraps onto several lines
    flush()
    return pairs


def _qa(doc: ParsedDocument, cfg: SplitConfig, layout: _Layout) -> list[ChunkDraft]:
    drafts: list[ChunkDraft] = []
    if doc.rows and len(doc.rows[0]) >= 2:
        metas = doc.row_meta or [{} for _ in doc.rows]
        for row, meta in zip(doc.rows, metas):
            q, a = list(row.values())[:2]
            if q and a:
                drafts.append(ChunkDraft(f"Q: {q}\nA: {a}", dict(meta), [q]))
    if not drafts:
        pairs = _qa_from_markers(layout.text)
        if not pairs:
            pairs = [(h[-1], body) for h, line, body in _markdown_sections(layout.text) if line and body]
        drafts = [ChunkDraft(f"Q: {q}\nA: {a}", layout.meta_of(q), [q]) for q, a in pairs]
    if not drafts:
        raise InvalidInput(
            "No question/answer pairs found. Use a table whose first two columns are question and "
            "answer, lines starting with 'Q:' / 'A:' (or '问：' / '答：'), or headings as questions."
        )
    return drafts


# --- one / table ---------------------------------------------------------------------------


def _one(doc: ParsedDocument, cfg: SplitConfig, layout: _Layout) -> list[ChunkDraft]:
    return [ChunkDraft(layout.text, layout.meta(0, len(layout.text)))]


def _table(doc: ParsedDocument, cfg: SplitConfig, layout: _Layout) -> list[ChunkDraft]:
    if doc.rows:
        metas = doc.row_meta or [{"row": n} for n in range(1, len(doc.rows) + 1)]
        return [ChunkDraft(row_line(row), dict(meta)) for row, meta in zip(doc.rows, metas)]
    drafts = [
        ChunkDraft(row_line(row), {**layout.meta_of(line), "table": t, "row": r})
        for t, r, row, line in markdown_table_rows(layout.text)
    ]
    if not drafts:
        raise InvalidInput(
            "No table rows found; the table method needs a CSV/Excel file or a document containing tables"
        )
    return drafts


_METHODS = {"general": _general, "markdown": _markdown, "qa": _qa, "one": _one, "table": _table}


def split(doc: ParsedDocument, cfg: SplitConfig) -> list[ChunkDraft]:
    """Split `doc` per `cfg`; empty chunks are dropped and token_count is filled in."""
    cfg.validate()
    out = []
    for draft in _METHODS[cfg.method](doc, cfg, _Layout(doc)):
        draft.content = draft.content.strip()
        if draft.content:
            draft.token_count = count_tokens(draft.content)
            out.append(draft)
    return out
