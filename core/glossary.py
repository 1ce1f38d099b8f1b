"""Glossaries: per knowledge base, term pairs across languages (租户 <-> tenant, 数据集 <-> dataset).

With no model to translate a question, the glossary still lets it reach passages in the other language:
a search also runs the question with every glossary term it contains replaced by its counterpart
(core/query_expansion.py). Pairs work both ways and are matched case-insensitively, English words also
in their plural. Users edit them on the Knowledge bases page, import them as CSV (two columns), or accept
suggestions mined from the knowledge base's own text (core/glossary_mining.py).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from threading import Lock

from pydantic import BaseModel
from sqlalchemy import delete, func, select

from core.errors import InvalidInput
from core.glossary_mining import Suggestion, mine
from core.scope import load_kb
from core.text import normalize
from storage.db import Database
from storage.orm import Chunk, GlossaryTerm

MAX_TERM_CHARS = 100
MAX_PAIRS = 5000  # per knowledge base
MINE_CHUNKS = 20_000  # chunks read when looking for suggestions
_HEADER_WORDS = {"term", "terms", "translation", "translations", "source", "target", "zh", "en", "chinese",
                 "english", "术语", "翻译", "中文", "英文", "原文", "译文"}
_MAX_ERRORS = 5
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class GlossaryPair(BaseModel):
    id: str
    term: str
    translation: str


class GlossaryImport(BaseModel):
    added: int
    skipped: int  # already in the glossary, or twice in the file
    total: int  # pairs in the glossary afterwards


def _clean(text: object) -> str:
    return " ".join(str(text or "").replace("\x00", " ").split())


def check_pair(term: object, translation: object, where: str = "") -> tuple[str, str]:
    """A pair as stored; InvalidInput says what is wrong (and `where`, e.g. "line 3: ")."""
    term, translation = _clean(term), _clean(translation)
    if not term or not translation:
        raise InvalidInput(f"{where}a glossary entry needs a term and its translation")
    for text in (term, translation):
        if len(text) > MAX_TERM_CHARS:
            raise InvalidInput(f"{where}'{text[:40]}…' is longer than {MAX_TERM_CHARS} characters")
    if normalize(term) == normalize(translation):
        raise InvalidInput(f"{where}'{term}' is its own translation")
    return term, translation


def _key(pair: tuple[str, str]) -> tuple[str, str]:
    """The same for a pair in either order and in any case: a pair is stored once."""
    a, b = normalize(pair[0]), normalize(pair[1])
    return (a, b) if a <= b else (b, a)


def _decode(data: bytes) -> str:
    encodings = ("utf-16",) if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not _CONTROL.search(text):
            return text
    raise InvalidInput("The file is not text (UTF-8, UTF-16 or GB18030)")


def _delimiter(text: str) -> str:
    """Tab, comma, semicolon or a full-width comma, whichever the first line uses."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return next((d for d in ("\t", ",", ";", "，") if d in first), ",")


def parse_csv(data: bytes) -> list[tuple[str, str]]:
    """Rows of two cells (comma, semicolon or tab separated); a header row is recognised and skipped."""
    text = _decode(data)
    pairs, errors = [], []
    for line, row in enumerate(csv.reader(io.StringIO(text), delimiter=_delimiter(text)), start=1):
        cells = [_clean(c) for c in row if _clean(c)]
        if not cells:
            continue
        if line == 1 and len(cells) == 2 and all(c.casefold() in _HEADER_WORDS for c in cells):
            continue
        if len(cells) != 2:
            errors.append(f"line {line}: expected two cells (term, translation), found {len(cells)}")
            continue
        try:
            pairs.append(check_pair(*cells, where=f"line {line}: "))
        except InvalidInput as exc:
            errors.append(exc.message)
    if errors:
        more = f" (and {len(errors) - _MAX_ERRORS} more)" if len(errors) > _MAX_ERRORS else ""
        raise InvalidInput("Nothing was imported: " + "; ".join(errors[:_MAX_ERRORS]) + more)
    if not pairs:
        raise InvalidInput("The file holds no glossary entries (two columns: term, translation)")
    return pairs


# ------------------------------------------------------------------ expansion
def _pattern(term: str) -> str:
    """Latin words match whole (and in the plural); Chinese and other scripts match anywhere."""
    body = re.escape(normalize(term)).replace(r"\ ", r"\s+")
    if re.fullmatch(r"[\w\s.\-/]+", term, re.ASCII):
        return rf"(?<![\w-]){body}(?:s|es)?(?![\w-])"
    return body


@dataclass(frozen=True)
class Swap:
    text: str  # the question with each glossary term replaced by its counterparts
    counterparts: list[str]  # what was put in
    terms: dict[str, str]  # each term as the question wrote it -> its counterparts


class _Matcher:
    """One regular expression over every term of a glossary (longest terms first), to its counterparts."""

    def __init__(self, pairs: Sequence[tuple[str, str]]):
        counterparts: dict[str, list[str]] = {}
        for a, b in pairs:
            counterparts.setdefault(normalize(a), []).append(b)
            counterparts.setdefault(normalize(b), []).append(a)
        self.terms = sorted(counterparts, key=len, reverse=True)
        self.counterparts = [" ".join(dict.fromkeys(counterparts[t])) for t in self.terms]
        self.regex = re.compile("|".join(f"(?P<t{i}>{_pattern(t)})" for i, t in enumerate(self.terms)))

    def swap(self, text: str) -> Swap | None:
        terms: dict[str, str] = {}

        def replace(m: re.Match) -> str:
            terms[m.group(0)] = self.counterparts[int(m.lastgroup[1:])]
            return f" {terms[m.group(0)]} "

        swapped = self.regex.sub(replace, normalize(text))
        return Swap(" ".join(swapped.split()), list(dict.fromkeys(terms.values())), terms) if terms else None


_matchers: OrderedDict[tuple, _Matcher] = OrderedDict()
_matchers_lock = Lock()


def swap_terms(text: str, pairs: Sequence[tuple[str, str]]) -> Swap | None:
    """The question in glossary terms of the other language ("How is tenant data isolated?" -> "how is 租户 data
    isolated?", putting in 租户), or None when no glossary term occurs in it."""
    if not pairs:
        return None
    key = tuple(pairs)
    with _matchers_lock:
        matcher = _matchers.pop(key, None)
    matcher = matcher or _Matcher(pairs)
    with _matchers_lock:
        _matchers[key] = matcher
        while len(_matchers) > 32:
            _matchers.popitem(last=False)
    return matcher.swap(text)


# ------------------------------------------------------------------ service
class GlossaryService:
    def __init__(self, db: Database):
        self.db = db

    def list(self, tenant_id: str, kb_id: str) -> list[GlossaryPair]:
        with self.db.session() as s:
            load_kb(s, tenant_id, kb_id)
            rows = s.scalars(select(GlossaryTerm).where(GlossaryTerm.kb_id == kb_id)
                             .order_by(GlossaryTerm.created_at, GlossaryTerm.id)).all()
            return [GlossaryPair(id=r.id, term=r.term, translation=r.translation) for r in rows]

    def pairs(self, kb_ids: Sequence[str]) -> list[tuple[str, str]]:
        """Every pair of these knowledge bases (already checked to be the caller's), for a search."""
        if not kb_ids:
            return []
        with self.db.session() as s:
            rows = s.execute(select(GlossaryTerm.term, GlossaryTerm.translation)
                             .where(GlossaryTerm.kb_id.in_(list(kb_ids))).order_by(GlossaryTerm.id)).all()
        return [(r.term, r.translation) for r in rows]

    def add(self, tenant_id: str, kb_id: str, pairs: Iterable[tuple[str, str]], *,
            replace: bool = False) -> GlossaryImport:
        """Add pairs (those already there, in either order, are skipped); `replace` drops the old ones first."""
        cleaned = [check_pair(term, translation) for term, translation in pairs]
        with self.db.session() as s:
            load_kb(s, tenant_id, kb_id)
            if replace:
                s.execute(delete(GlossaryTerm).where(GlossaryTerm.kb_id == kb_id))
                have = set()
            else:
                have = {_key((r.term, r.translation)) for r in s.execute(
                    select(GlossaryTerm.term, GlossaryTerm.translation).where(GlossaryTerm.kb_id == kb_id))}
            fresh = []
            for pair in cleaned:
                if _key(pair) not in have:
                    have.add(_key(pair))
                    fresh.append(pair)
            if len(have) > MAX_PAIRS:
                raise InvalidInput(f"A glossary holds at most {MAX_PAIRS} pairs; this would make {len(have)}")
            for term, translation in fresh:
                a, b = _key((term, translation))
                s.add(GlossaryTerm(tenant_id=tenant_id, kb_id=kb_id, term=term, translation=translation,
                                   term_key=a[:255], translation_key=b[:255]))
            return GlossaryImport(added=len(fresh), skipped=len(cleaned) - len(fresh), total=len(have))

    def import_csv(self, tenant_id: str, kb_id: str, data: bytes, *, replace: bool = False) -> GlossaryImport:
        self.list(tenant_id, kb_id)  # an unknown knowledge base is reported before the file is read
        return self.add(tenant_id, kb_id, parse_csv(data), replace=replace)

    def export_csv(self, tenant_id: str, kb_id: str) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["term", "translation"])
        writer.writerows([p.term, p.translation] for p in self.list(tenant_id, kb_id))
        return out.getvalue().encode("utf-8")

    def delete(self, tenant_id: str, kb_id: str, ids: Sequence[str]) -> int:
        with self.db.session() as s:
            load_kb(s, tenant_id, kb_id)
            return s.execute(delete(GlossaryTerm).where(GlossaryTerm.kb_id == kb_id,
                                                        GlossaryTerm.id.in_(list(ids)))).rowcount or 0

    def count(self, tenant_id: str, kb_id: str) -> int:
        with self.db.session() as s:
            load_kb(s, tenant_id, kb_id)
            return s.scalar(select(func.count(GlossaryTerm.id)).where(GlossaryTerm.kb_id == kb_id)) or 0

    def suggest(self, tenant_id: str, kb_id: str, limit: int = 40) -> list[Suggestion]:
        """Pairs the knowledge base's own text suggests (not yet in its glossary), most frequent first."""
        known = {_key((p.term, p.translation)) for p in self.list(tenant_id, kb_id)}
        with self.db.session() as s:
            texts = s.scalars(select(Chunk.content).where(Chunk.kb_id == kb_id, Chunk.enabled.is_(True))
                              .order_by(Chunk.doc_id, Chunk.position).limit(MINE_CHUNKS)).all()
        return [g for g in mine(texts) if _key((g.term, g.translation)) not in known][:limit]
