"""Draft a question set from a knowledge base's own chunks, for the user to review before running it.

With a chat model, the model writes a question (and a short answer) that a sampled chunk answers; the
chunk is the judgement (its text is the relevant passage). Without one, the query is the chunk's key
sentence (the one holding most of its keywords) and that sentence is the relevant passage.
"""

from __future__ import annotations

import json
import random
import re

from sqlalchemy import select

from core.errors import InvalidInput, ProviderError
from core.evaluation.schemas import Question
from core.providers.llm import LLM, ChatParams
from core.scope import load_kb
from core.text import search_tokens
from storage.db import Database
from storage.orm import Chunk, Document

MIN_CHARS = 40  # shorter chunks (headings, stray lines) make poor questions
MAX_COUNT = 200
_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=[.;；])\s+|\n+")
QUESTION_SYSTEM = (
    "You write test questions for a search engine. Given a passage, write one question that a user might ask "
    "and that this passage answers, in the passage's language, without quoting it word for word, plus a short "
    'answer taken from the passage. Reply with JSON only: {"question": "...", "answer": "..."}'
)


def key_sentence(content: str, keywords: list[str]) -> str:
    """The sentence carrying most of the chunk's keywords (or search terms), of a usable length."""
    sentences = [s.strip() for s in _SENTENCE_END.split(content) if s and 8 <= len(s.strip()) <= 300]
    if not sentences:
        return content.strip()[:300]
    terms = {k.lower() for k in keywords} or set(search_tokens(content))
    return max(sentences, key=lambda s: (len(terms & set(search_tokens(s))), len(s)))


def _parse_reply(text: str) -> tuple[str, str]:
    """(question, answer) from the model's reply: its JSON, else its first line as the question."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if match:
        try:
            data = json.loads(match.group())
            if isinstance(data, dict) and isinstance(data.get("question"), str) and data["question"].strip():
                return data["question"].strip(), str(data.get("answer") or "").strip()
        except json.JSONDecodeError:
            pass
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:1000], ""


def sample_chunks(db: Database, tenant_id: str, kb_id: str, count: int, seed: int | None) -> list:
    with db.session() as s:
        load_kb(s, tenant_id, kb_id)
        rows = s.execute(select(Chunk.content, Chunk.keywords, Document.name)
                         .join(Document, Document.id == Chunk.doc_id)
                         .where(Chunk.kb_id == kb_id, Chunk.enabled.is_(True), Document.enabled.is_(True),
                                Chunk.char_count >= MIN_CHARS).order_by(Chunk.doc_id, Chunk.position)).all()
    if not rows:
        raise InvalidInput("The knowledge base has no processed chunks to write questions from")
    return random.Random(seed).sample(rows, min(count, len(rows)))


def generate_questions(db: Database, tenant_id: str, kb_id: str, count: int = 20, *, llm: LLM | None = None,
                       seed: int | None = None) -> list[Question]:
    if not 1 <= count <= MAX_COUNT:
        raise InvalidInput(f"Ask for 1 to {MAX_COUNT} questions")
    questions = []
    for content, keywords, doc_name in sample_chunks(db, tenant_id, kb_id, count, seed):
        if llm is None:
            sentence = key_sentence(content, list(keywords or []))
            questions.append(Question(question=sentence, relevant_docs=[doc_name], relevant_text=[sentence]))
            continue
        try:
            reply = llm.complete([{"role": "system", "content": QUESTION_SYSTEM}, {"role": "user", "content": content}],
                                 ChatParams(temperature=0.3, max_tokens=300)).content
        except ProviderError as exc:
            raise ProviderError(f"The chat model could not write questions: {exc.message}") from exc
        question, answer = _parse_reply(reply)
        if question:
            questions.append(Question(question=question, answer=answer, relevant_docs=[doc_name],
                                      relevant_text=[content]))
    return questions
