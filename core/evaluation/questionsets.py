"""Question sets: import (JSONL or CSV, all or nothing), edit, generate from a knowledge base, list, delete.

File format, one question per line (JSONL) or row (CSV with a header):
  question       required
  answer         optional reference answer (enables BLEU / ROUGE when a run generates answers)
  relevant_docs  document names or ids; JSON list, or in CSV a JSON list or names separated by "|"
  relevant_text  a passage a relevant chunk contains (whitespace-insensitive); a string or a list
At least one of relevant_docs / relevant_text is needed. Unknown fields are reported, not imported.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidInput
from core.evaluation.schemas import RUN_ACTIVE, ImportReport, Question, QuestionSetInfo
from core.scope import load_kb, load_owned, validation_message
from storage.db import Database
from storage.orm import Document, EvalQuestion, EvalRun, EvalSet, utcnow

FIELDS = ("question", "answer", "relevant_docs", "relevant_text")
MAX_QUESTIONS = 5000
MAX_NAME = 255


# ----------------------------------------------------------------------------------- parsing
def _as_list(value: Any, field: str, csv_cell: bool) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str) and csv_cell and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"field '{field}': not a valid JSON list ({exc.msg})") from None
    if isinstance(value, str):
        return [v for v in value.split("|")] if csv_cell and field == "relevant_docs" else [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ValueError(f"field '{field}': expected a string or a list of strings")


def _question(record: Any, csv_cell: bool) -> Question:
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object such as {\"question\": ..., \"relevant_docs\": [...]}")
    text = record.get("question")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("field 'question': missing or empty")
    answer = record.get("answer")
    if answer is not None and not isinstance(answer, str):
        raise ValueError("field 'answer': expected a string")
    values = {"question": text, "answer": answer or "",
              "relevant_docs": _as_list(record.get("relevant_docs"), "relevant_docs", csv_cell),
              "relevant_text": _as_list(record.get("relevant_text"), "relevant_text", csv_cell)}
    try:
        q = Question.model_validate(values)
    except ValidationError as exc:
        raise ValueError(f"field {validation_message(exc)}") from None
    if not q.relevant_docs and not q.relevant_text:
        raise ValueError("fields 'relevant_docs' / 'relevant_text': give at least one (what counts as relevant)")
    return q


def _jsonl_records(text: str) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None


def _csv_records(text: str) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "question" not in [f.strip() for f in reader.fieldnames]:
        raise InvalidInput("line 1: the CSV header must name a 'question' column "
                           "(and relevant_docs and/or relevant_text, optionally answer)")
    start = reader.line_num + 1
    for row in reader:
        if any(k is None for k in row):
            raise InvalidInput(f"line {start}: more cells than the header has columns")
        record = {k.strip(): v for k, v in row.items() if k is not None}
        if any((v or "").strip() for v in record.values()):
            yield start, record
        start = reader.line_num + 1


def parse_questions(data: bytes, filename: str = "") -> tuple[list[Question], list[int], list[str]]:
    """The questions of a JSONL or CSV file, the line each starts on, and the unknown field names;
    InvalidInput names the line and the field."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("The file is not UTF-8 text") from None
    suffix = PurePath(filename or "").suffix.lower()
    is_csv = suffix == ".csv" or (suffix not in (".jsonl", ".json", ".ndjson") and not text.lstrip().startswith("{"))
    questions: list[Question] = []
    lines: list[int] = []
    ignored: set[str] = set()
    for number, record in (_csv_records(text) if is_csv else _jsonl_records(text)):
        try:
            questions.append(_question(record, csv_cell=is_csv))
            lines.append(number)
        except ValueError as exc:
            raise InvalidInput(f"line {number}: {exc}") from None
        ignored |= set(record) - set(FIELDS) if isinstance(record, dict) else set()
        if len(questions) > MAX_QUESTIONS:
            raise InvalidInput(f"line {number}: a set holds at most {MAX_QUESTIONS} questions")
    if not questions:
        raise InvalidInput("The file has no questions")
    return questions, lines, sorted(ignored)


def dump_jsonl(questions: list[Question]) -> bytes:
    """A set as JSONL, the same format it is imported from."""
    return "".join(json.dumps(q.model_dump(), ensure_ascii=False) + "\n" for q in questions).encode()


# ------------------------------------------------------------------------------------ storage
def set_info(s: Session, row: EvalSet) -> QuestionSetInfo:
    n = s.scalar(select(func.count(EvalQuestion.id)).where(EvalQuestion.set_id == row.id)) or 0
    return QuestionSetInfo(id=row.id, name=row.name, kb_id=row.kb_id, source=row.source, question_count=n,
                           created_at=row.created_at, updated_at=row.updated_at)


def check_documents(s: Session, tenant_id: str, kb_id: str, questions: list[Question],
                    where: list[str] | None = None) -> None:
    """Every relevant_docs entry must name a document of the knowledge base (else no chunk could ever match).
    `where` says where each question came from ("line 7"), for the message."""
    kb = load_kb(s, tenant_id, kb_id)
    known = {n for pair in s.execute(select(Document.id, Document.name).where(Document.kb_id == kb.id))
             for n in (pair[0], pair[1].casefold())}
    for i, q in enumerate(questions):
        for d in q.relevant_docs:
            if d not in known and d.casefold() not in known:
                place = where[i] if where else f"question {i + 1}"
                raise InvalidInput(f"{place}, field 'relevant_docs': no document '{d}' in knowledge base "
                                   f"'{kb.name}'")


class QuestionSets:
    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    def _name(name: str) -> str:
        name = (name or "").replace("\x00", "").strip()
        if not name:
            raise InvalidInput("The question set needs a name")
        return name[:MAX_NAME]

    def create(self, tenant_id: str, name: str, questions: list[Question], *, kb_id: str | None = None,
               source: str = "upload", where: list[str] | None = None) -> QuestionSetInfo:
        if not questions:
            raise InvalidInput("A question set needs at least one question")
        with self.db.session() as s:
            if kb_id:
                check_documents(s, tenant_id, kb_id, questions, where)
            row = EvalSet(tenant_id=tenant_id, name=self._name(name), kb_id=kb_id or None, source=source)
            s.add(row)
            s.flush()
            self._write(s, row.id, questions)
            return set_info(s, row)

    def import_file(self, tenant_id: str, data: bytes, filename: str, *, name: str = "",
                    kb_id: str | None = None) -> ImportReport:
        questions, lines, ignored = parse_questions(data, filename)
        info = self.create(tenant_id, name or PurePath(filename or "questions").stem, questions, kb_id=kb_id,
                           where=[f"line {n}" for n in lines])
        return ImportReport(set=info, ignored_fields=ignored)

    @staticmethod
    def _write(s: Session, set_id: str, questions: list[Question]) -> None:
        s.execute(delete(EvalQuestion).where(EvalQuestion.set_id == set_id))
        s.add_all(EvalQuestion(set_id=set_id, position=i, **q.model_dump()) for i, q in enumerate(questions))

    def replace_questions(self, tenant_id: str, set_id: str, questions: list[dict | Question]) -> QuestionSetInfo:
        """Save an edited set in one go (after review): every question is checked before anything changes."""
        checked = []
        for number, q in enumerate(questions, start=1):
            try:
                checked.append(_question(q.model_dump() if isinstance(q, Question) else q, csv_cell=False))
            except ValueError as exc:
                raise InvalidInput(f"question {number}: {exc}") from None
        if not checked:
            raise InvalidInput("A question set needs at least one question")
        with self.db.session() as s:
            row = load_owned(s, EvalSet, set_id, tenant_id, "Question set")
            if s.scalar(select(EvalRun.id).where(EvalRun.set_id == row.id, EvalRun.state.in_(RUN_ACTIVE)).limit(1)):
                raise Conflict("A run of this set is in progress; let it finish or cancel it before editing the set")
            if row.kb_id:
                check_documents(s, tenant_id, row.kb_id, checked)
            self._write(s, row.id, checked)
            row.updated_at = utcnow()
            s.flush()
            return set_info(s, row)

    def rename(self, tenant_id: str, set_id: str, name: str) -> QuestionSetInfo:
        with self.db.session() as s:
            row = load_owned(s, EvalSet, set_id, tenant_id, "Question set")
            row.name = self._name(name)
            s.flush()
            return set_info(s, row)

    def get(self, tenant_id: str, set_id: str) -> QuestionSetInfo:
        with self.db.session() as s:
            return set_info(s, load_owned(s, EvalSet, set_id, tenant_id, "Question set"))

    def list(self, tenant_id: str) -> list[QuestionSetInfo]:
        with self.db.session() as s:
            rows = s.scalars(select(EvalSet).where(EvalSet.tenant_id == tenant_id)
                             .order_by(EvalSet.created_at.desc(), EvalSet.id)).all()
            return [set_info(s, r) for r in rows]

    def questions(self, tenant_id: str, set_id: str) -> list[Question]:
        with self.db.session() as s:
            load_owned(s, EvalSet, set_id, tenant_id, "Question set")
            rows = s.scalars(select(EvalQuestion).where(EvalQuestion.set_id == set_id)
                             .order_by(EvalQuestion.position)).all()
            return [Question(question=r.question, answer=r.answer, relevant_docs=list(r.relevant_docs),
                             relevant_text=list(r.relevant_text)) for r in rows]

    def delete(self, tenant_id: str, set_id: str) -> None:
        """Delete a set with its questions and runs."""
        with self.db.session() as s:
            s.delete(load_owned(s, EvalSet, set_id, tenant_id, "Question set"))
