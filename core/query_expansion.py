"""Cross-language search: a question is searched as asked, in the knowledge base's other languages and in its
glossary terms, and the lists are fused.

Variants of a question, each searched by RetrievalService.search_once with the same settings:
- the question as asked (always first; it is searched while the model works, so the model call is the
  only time added);
- its translations into the query languages of the knowledge bases other than its own ("auto": the
  languages found in their chunks), all from ONE model call whose answers are cached;
- with model-extracted keywords (RAGFlow's `keyword: true`), the question followed by the keywords;
- with a glossary (core/glossary.py), the question with each term replaced by its counterpart: this one
  needs no model.
Fusion: a chunk keeps its best score over the variants, so a passage found in any language ranks by its
best evidence; `ExpandedSearch.found_by` says which variant that was. A model that fails, times out or
answers something unreadable leaves the question as asked (never an error; `note` says why), and after a
failure the model is left alone for MODEL_PAUSE_S, so a dead endpoint does not slow every search.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from threading import Lock
from typing import Any

from sqlalchemy import select

from core.config import Settings
from core.errors import AlmanacError, InvalidInput
from core.glossary import GlossaryService, swap_terms
from core.hit_recorder import SearchRecord
from core.languages import AUTO, detect, language_name, languages_of, parse_languages
from core.providers.llm import LLM, QUERY_VARIANTS_TASK, ChatParams, LLMSpec, get_llm
from core.schemas import RetrievalConfig, SearchHit
from core.scope import load_kb
from core.text import normalize
from storage.db import Database
from storage.orm import Chunk

log = logging.getLogger(__name__)
ANSWER_CACHE_SIZE = 1024
MODEL_PAUSE_S = 30.0
MAX_KEYWORDS = 12
LANGUAGE_SAMPLE = 2000  # first chunks of documents read to find a knowledge base's languages
LANGUAGE_RECHECK_S = 30.0
VARIANT_SEARCH_GRACE_S = 60.0  # beyond the model's timeout, for searching what it answered
SYSTEM = (
    "You help a document search engine find passages written in other languages. The user message is a JSON "
    "object with a search `query`, the `languages` (code: name) to translate it into, and whether to list "
    "`keywords`. Translate the query into each language faithfully, as a native speaker would ask the same "
    "question; keep product names, code, identifiers and numbers as they are. When keywords are asked for, "
    "list up to 8 short keywords or key phrases that a passage answering the query would contain, in the "
    "query's language and in the target languages. Translate the terms of the `glossary` (when given) as it "
    "says. Reply with one JSON object and nothing else: "
    '{"translations": {"<language code>": "<translation>"}, "keywords": ["<keyword>"]}'
)


@dataclass(frozen=True)
class Expansion:
    """How one search treats its question; None = the knowledge bases' settings."""

    languages: tuple[str, ...] | None = None  # translate into these; ("auto",) = the languages of the chunks
    keywords: bool | None = None  # model-extracted keywords
    glossary: bool = True  # the knowledge bases' glossaries
    model_id: str | None = None  # the LLM (a saved model's id); None = the tenant's default

    @classmethod
    def of(cls, languages: Sequence[str] | str | None = None, keywords: bool | None = None, *,
           glossary: bool = True, model_id: str | None = None) -> Expansion:
        """From user input: InvalidInput names a language that is not known."""
        try:
            codes = None if languages is None else tuple(parse_languages(languages))
        except ValueError as exc:
            raise InvalidInput(f"Query languages: {exc}") from None
        return cls(codes, keywords, glossary, model_id or None)


NO_EXPANSION = Expansion(languages=(), keywords=False, glossary=False)  # the question as asked, nothing more
ALL_LANGUAGES = Expansion(languages=(AUTO,))  # every language of the knowledge bases, whatever they set


@dataclass(frozen=True)
class QueryVariant:
    text: str  # what the vector side searches (and the keyword side, unless `keywords`)
    kind: str  # question | translation | keywords | glossary
    language: str = ""  # code, when known
    keywords: str | None = None  # what the keyword side searches, when it differs


@dataclass
class ExpandedSearch:
    variants: list[QueryVariant]
    hits: list[SearchHit]
    found_by: dict[str, int] = field(default_factory=dict)  # chunk id -> index of the variant with its best score
    note: str = ""  # "" | no_model | model_failed | model_paused | unreadable: why the model added nothing
    detail: str = ""  # the model's error, when it failed

    def variant_of(self, hit: SearchHit) -> QueryVariant:
        return self.variants[self.found_by.get(hit.chunk_id, 0)]


@dataclass
class _Plan:
    languages: list[str]  # to translate into
    keywords: bool
    pairs: list[tuple[str, str]]
    model_id: str | None


@dataclass(frozen=True)
class _Answer:
    translations: dict[str, str]
    keywords: list[str]


Once = Callable[[QueryVariant, Callable[[SearchRecord], None]], list[SearchHit]]


class QueryExpander:
    def __init__(self, db: Database, models: Any, glossary: GlossaryService, settings: Settings,
                 llm_factory: Callable[[LLMSpec], LLM] = get_llm):
        self.db, self.models, self.glossary, self.settings = db, models, glossary, settings
        self.llm_factory = llm_factory
        self._answers: OrderedDict[tuple, _Answer] = OrderedDict()
        self._llms: OrderedDict[LLMSpec, LLM] = OrderedDict()
        self._paused: dict[LLMSpec, float] = {}
        self._kb_languages: dict[str, tuple[int, float, frozenset[str]]] = {}
        self._lock = Lock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="query-variants")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ search
    def search(self, tenant_id: str, kb_ids: Sequence[str], query: str, expansion: Expansion | None, once: Once,
               record: Callable[[SearchRecord], None] | None) -> ExpandedSearch:
        """Search every variant of `query` with `once(variant, sink)` and fuse; `record` gets one record for all.

        The model call, then the searches of its variants, run in a worker while this thread searches the
        question (and its glossary variant): they overlap, so the model call is what a search waits longer."""
        started = time.perf_counter()
        text = (query or "").replace("\x00", "").strip()
        records: list[SearchRecord] = []  # one per variant searched; all alike but for query, hits and time
        question = QueryVariant(text, "question", detect(text) or "")
        if not text:
            once(question, records.append)  # raises the search's own error for an empty question
        plan = self._plan(tenant_id, list(dict.fromkeys(kb_ids)), question, expansion or Expansion())
        spec = self._spec(tenant_id, plan) if plan.languages or plan.keywords else None
        modelled = self._pool.submit(self._model_search, spec, question, plan, once, records) if spec else None
        result = ExpandedSearch([question], [])
        lists = [once(question, records.append)]
        glossary = glossary_variant(question, plan.pairs)
        if glossary is not None:
            result.variants.append(glossary)
            lists.append(self._try(once, glossary, records))
        if plan.languages or plan.keywords:
            extra, extra_lists = self._wait(modelled, result) if modelled is not None else ([], [])
            result.note = result.note or ("" if spec is not None else "no_model")
            if glossary is not None and any(v.kind == "translation" for v in extra):
                del result.variants[1:], lists[1:]  # the translation used the glossary's terms (see _ask)
            result.variants += extra
            lists += extra_lists
        result.hits, result.found_by = fuse(lists, records[0].top_k)
        if record is not None:
            record(replace(records[0], query=text, elapsed_ms=(time.perf_counter() - started) * 1000,
                           hits=tuple((h.chunk_id, h.doc_id, h.kb_id) for h in result.hits)))
        return result

    def _model_search(self, spec: LLMSpec, question: QueryVariant, plan: _Plan, once: Once,
                      records: list[SearchRecord]) -> tuple[list[QueryVariant], list[list[SearchHit]], str, str]:
        """Ask the model for the question's variants and search them: (variants, their hits, note, detail)."""
        answer, note, detail = self._ask(spec, question.text, plan)
        variants = self._model_variants(question, answer, plan)
        return variants, [self._try(once, v, records) for v in variants], note, detail

    @staticmethod
    def _try(once: Once, variant: QueryVariant, records: list[SearchRecord]) -> list[SearchHit]:
        """A variant's hits; a variant that cannot be searched is left out (the question itself was)."""
        try:
            return once(variant, records.append)
        except AlmanacError as exc:
            log.info("Query variant %r not searched: %s", variant.text[:80], exc.message)
            return []

    def _wait(self, modelled: Future, result: ExpandedSearch) -> tuple[list[QueryVariant], list[list[SearchHit]]]:
        """The model's variants and their hits; none when it takes far longer than its timeout."""
        try:
            variants, lists, result.note, result.detail = modelled.result(
                timeout=self.settings.query_model_timeout + VARIANT_SEARCH_GRACE_S)
        except FutureTimeout:
            result.note, result.detail = "model_failed", f"no answer within {self.settings.query_model_timeout:g} s"
            return [], []
        return variants, lists

    @staticmethod
    def _model_variants(question: QueryVariant, answer: _Answer | None, plan: _Plan) -> list[QueryVariant]:
        if answer is None:
            return []
        out = [QueryVariant(t, "translation", code) for code, t in answer.translations.items()
               if code in plan.languages]
        if plan.keywords and answer.keywords:  # the question's meaning for the vectors, its keywords for BM25
            out.append(QueryVariant(question.text, "keywords", question.language,
                                    keywords=f"{question.text} {' '.join(answer.keywords)}"))
        return out

    # ------------------------------------------------------------------ settings
    def _plan(self, tenant_id: str, kb_ids: list[str], question: QueryVariant, expansion: Expansion) -> _Plan:
        """What to add to this question, from the knowledge bases' settings and the caller's `expansion`."""
        with self.db.session() as s:
            kbs = [load_kb(s, tenant_id, k) for k in kb_ids]  # NotFound before any model is asked
            configs = [RetrievalConfig.model_validate(kb.retrieval_config or {}) for kb in kbs]
            wanted = set(expansion.languages) if expansion.languages is not None else \
                {code for c in configs for code in c.query_languages}
            languages = set()
            for kb in kbs:
                if AUTO in wanted:
                    languages |= self._languages_of_kb(s, kb)
            languages |= wanted - {AUTO}
        keywords = expansion.keywords if expansion.keywords is not None else any(c.model_keywords for c in configs)
        targets = sorted(languages - {question.language}) if question.language else []
        pairs = self.glossary.pairs(kb_ids) if expansion.glossary else []
        return _Plan(targets, bool(keywords), pairs, expansion.model_id)

    def _languages_of_kb(self, s, kb) -> frozenset[str]:  # noqa: ANN001
        """The languages of a knowledge base's chunks (the first chunks of its documents), cached per version."""
        now = time.monotonic()
        with self._lock:
            cached = self._kb_languages.get(kb.id)
        if cached and (cached[0] == kb.chunks_version or now - cached[1] < LANGUAGE_RECHECK_S):
            return cached[2]
        texts = s.scalars(select(Chunk.content).where(Chunk.kb_id == kb.id, Chunk.position < 3)
                          .limit(LANGUAGE_SAMPLE)).all()
        found = frozenset(languages_of(texts))
        with self._lock:
            self._kb_languages[kb.id] = (kb.chunks_version, now, found)
        return found

    def _spec(self, tenant_id: str, plan: _Plan) -> LLMSpec | None:
        try:
            spec = self.models.llm_spec(tenant_id, plan.model_id) if self.models is not None else None
        except AlmanacError as exc:  # e.g. an assistant's model that was deleted: search without it
            log.info("No model for query variants: %s", exc.message)
            return None
        if spec is None:
            return None
        return replace(spec, timeout=min(spec.timeout, self.settings.query_model_timeout), max_retries=0)

    # ------------------------------------------------------------------ the model
    def _llm(self, spec: LLMSpec) -> LLM:
        with self._lock:
            llm = self._llms.pop(spec, None) or self.llm_factory(spec)
            self._llms[spec] = llm
            while len(self._llms) > 8:
                self._llms.popitem(last=False)
            return llm

    def _ask(self, spec: LLMSpec, text: str, plan: _Plan) -> tuple[_Answer | None, str, str]:
        """(answer, note, detail): translations and keywords for `text`, from the cache or one model call."""
        key = (spec, text, tuple(plan.languages), plan.keywords)
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key], "", ""
            if self._paused.get(spec, 0.0) > time.monotonic():
                return None, "model_paused", ""
        request = {"task": QUERY_VARIANTS_TASK, "query": text,
                   "languages": {code: language_name(code) for code in plan.languages}, "keywords": plan.keywords}
        swap = swap_terms(text, plan.pairs)
        if swap is not None:
            request["glossary"] = swap.terms
        messages = [{"role": "system", "content": SYSTEM},
                    {"role": "user", "content": json.dumps(request, ensure_ascii=False)}]
        try:
            reply = self._llm(spec).complete(messages, ChatParams(temperature=0.0, max_tokens=400))
        except Exception as exc:  # noqa: BLE001 - any failure: search the question as asked
            detail = exc.message if isinstance(exc, AlmanacError) else type(exc).__name__
            log.info("Query variants: the model failed (%s); searching the question as asked", detail)
            with self._lock:
                self._paused[spec] = time.monotonic() + MODEL_PAUSE_S
            return None, "model_failed", detail
        answer = parse_answer(reply.content, plan.languages, text)
        if answer is None:
            log.info("Query variants: unreadable model answer %r", reply.content[:200])
            return None, "unreadable", ""
        with self._lock:
            self._answers[key] = answer
            while len(self._answers) > ANSWER_CACHE_SIZE:
                self._answers.popitem(last=False)
        return answer, "", ""


# ------------------------------------------------------------------ helpers
def glossary_variant(question: QueryVariant, pairs: Sequence[tuple[str, str]]) -> QueryVariant | None:
    """The question with its glossary terms in the other language: the vector side reads the whole swapped
    question (its meaning), the keyword side only what can match the other language's passages: the
    counterparts and the words not in the question's own language (names, numbers). Left-over words of the
    question's language would only find what the question itself finds, and thin out the counterparts."""
    swap = swap_terms(question.text, pairs) if pairs else None
    if swap is None:
        return None
    own = question.language
    foreign = [w for w in swap.text.split() if not own or detect(w) not in (own, None) or w.isdigit()]
    keep = [w for w in foreign if w not in " ".join(swap.counterparts).split()]
    return QueryVariant(swap.text, "glossary", question.language, keywords=" ".join([*swap.counterparts, *keep]))


def fuse(lists: Sequence[Sequence[SearchHit]], top_k: int) -> tuple[list[SearchHit], dict[str, int]]:
    """Each chunk at its best score over the lists (ties: the earlier list, then its rank), the top_k best."""
    best: dict[str, tuple[float, int, int, SearchHit]] = {}
    for i, hits in enumerate(lists):
        for rank, h in enumerate(hits):
            seen = best.get(h.chunk_id)
            if seen is None or h.score > seen[0]:
                best[h.chunk_id] = (h.score, i, rank, h)
    ranked = sorted(best.values(), key=lambda b: (-b[0], b[1], b[2]))[:top_k]
    return [b[3] for b in ranked], {b[3].chunk_id: b[1] for b in ranked}


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)
_LINE = re.compile(r"^\s*[-*]?\s*([A-Za-z\u4e00-\u9fff][\w\u4e00-\u9fff \-()]{0,30}?)\s*[:：]\s*(.+?)\s*$", re.M)
_LATIN_SCRIPT = {"en", "fr", "de", "es", "pt", "it", "vi"}


def _object(text: str) -> Any:
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        return json.loads(body[start:end + 1])
    except ValueError:
        return None


def _code(key: str) -> str | None:
    try:
        codes = parse_languages([key])
    except ValueError:
        return None
    return codes[0] if codes and codes[0] != AUTO else None


def _plausible(translation: str, code: str, query: str) -> bool:
    """A real translation: text of reasonable length, in the target's script, not the question again."""
    if not translation or len(translation) > 4 * len(query) + 200 or normalize(translation) == normalize(query):
        return False
    script = detect(translation)
    return script in _LATIN_SCRIPT if code in _LATIN_SCRIPT else script == code


def parse_answer(text: str, languages: Sequence[str], query: str) -> _Answer | None:
    """Translations and keywords from the model's reply: the JSON asked for, or close to it (a code fence,
    language names as keys, a flat object, "Chinese: …" lines, or bare text when one language was asked)."""
    obj = _object(text or "")
    translations: dict[str, str] = {}
    keywords: list[str] = []
    if isinstance(obj, dict):
        given = obj.get("translations", obj if "keywords" not in obj else {})
        if isinstance(given, str) and len(languages) == 1:
            given = {languages[0]: given}
        for key, value in (given.items() if isinstance(given, dict) else []):
            code = _code(str(key))
            if code and isinstance(value, str):
                translations[code] = " ".join(value.split())
        raw = obj.get("keywords") or []
        raw = re.split(r"[,，、;；]", raw) if isinstance(raw, str) else raw
        keywords = [k for k in raw if isinstance(k, str)] if isinstance(raw, list) else []
    elif text and text.strip():
        for m in _LINE.finditer(text):
            if (code := _code(m.group(1))) is not None:
                translations[code] = m.group(2)
        if not translations and len(languages) == 1:
            translations[languages[0]] = " ".join(text.split())
    translations = {c: t for c, t in translations.items() if c in languages and _plausible(t, c, query)}
    keywords = list(dict.fromkeys(" ".join(k.split()) for k in keywords if k.strip() and len(k) <= 60))
    keywords = keywords[:MAX_KEYWORDS]
    return _Answer(translations, keywords) if translations or keywords else None
