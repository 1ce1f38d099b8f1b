"""`python -m core.cli eval KB SET.jsonl`: run a question set against a knowledge base and print the metrics.

Split from core/cli.py to keep modules small; core/cli.py registers `eval_app` (one command, top level). The set is imported
(and kept, so the Evaluation page shows the run too) and every configuration runs in this process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core.errors import InvalidInput
from core.evaluation.schemas import QuestionResult, RunInfo
from core.schemas import ACTIVE_STATES
from core.tenants import DEFAULT_TENANT_ID

MODES = ("semantic", "full_text", "hybrid")
Weights = Annotated[list[float] | None, typer.Option("--weight", help="Hybrid vector weight 0..1 (repeatable)")]
console = Console()
TENANT = DEFAULT_TENANT_ID
eval_app = typer.Typer()


CROSS = {"kb": None, "on": True, "off": False}  # cross-language search: the knowledge base's setting, on, off


def configurations(modes: list[str], compare_modes: bool, weights: list[float], k: int, threshold: float,
                   rerank: str, chat_model_id: str, cross: list[str] | None = None) -> list[dict]:
    """One configuration per mode (all three with --compare-modes) and --cross-language, hybrid once per --weight."""
    chosen = list(MODES) if compare_modes else list(dict.fromkeys(modes or ["hybrid"]))
    weights = list(dict.fromkeys(weights or [0.7]))
    return [{"mode": mode, "top_k": k, "threshold": threshold, "vector_weight": w, "rerank_model": rerank,
             "chat_model_id": chat_model_id, "cross_language": CROSS[c]}
            for mode in chosen for w in (weights if mode == "hybrid" else weights[:1])
            for c in dict.fromkeys(cross or ["kb"])]


def question_json(r: QuestionResult) -> dict:
    return {"position": r.position, "question": r.question, "relevant_docs": r.relevant_docs,
            "relevant_text": r.relevant_text, "answer_reference": r.answer_reference, "answer": r.answer,
            "first_relevant_rank": r.first_relevant_rank, "latency_ms": r.latency_ms, "metrics": r.metrics,
            "error": r.error,
            "retrieved": [{"rank": h.rank, "chunk_id": h.chunk_id, "doc_id": h.doc_id,
                           "document_name": h.document_name, "text": h.content, "score": h.score,
                           "relevant": h.relevant} for h in r.hits]}


def run_json(run: RunInfo, results: list[QuestionResult]) -> dict:
    return {"id": run.id, "label": run.label, "config": run.config.model_dump(), "state": run.state,
            "error": run.error, "total": run.total, "finished": run.finished, "metrics": run.retrieval,
            "generation": run.generation, "latency_ms": run.latency_ms,
            "questions": [question_json(r) for r in results]}


def metrics_table(runs: list[RunInfo], title: str) -> Table:
    k = runs[0].config.top_k
    with_answers = any(r.generation for r in runs)
    columns = [f"precision@{k}", f"recall@{k}", f"hit@{k}", "ndcg@3", "ndcg@10", "mrr", "map"]
    table = Table("configuration", *columns, *(["bleu4", "rougel"] if with_answers else []), "ms / question", "state",
                  title=title)
    for run in runs:
        values = [f"{run.retrieval[c]:.3f}" if c in run.retrieval else "—" for c in columns]
        if with_answers:
            gen = run.generation or {}
            values += [f"{gen[c]:.3f}" if c in gen else "—" for c in ("bleu4", "rougel")]
        state = run.state if run.state == "completed" else f"[red]{run.state}: {escape(run.error)}[/]"
        table.add_row(escape(run.label), *values, f"{run.latency_ms:.0f}", state)
    return table


@eval_app.command("eval")
def eval_command(
    kb: Annotated[str, typer.Argument(help="Knowledge base (name or id)")],
    set_file: Annotated[Path, typer.Argument(metavar="SET", help="Question set: .jsonl or .csv (see README)")],
    mode: Annotated[list[str] | None, typer.Option("--mode", help="semantic | full_text | hybrid (repeatable)")] = None,
    compare_modes: Annotated[bool, typer.Option("--compare-modes", help="Run all three modes side by side")] = False,
    weight: Weights = None,
    k: Annotated[int, typer.Option("--k", help="Chunks retrieved per question (top k)")] = 5,
    threshold: Annotated[float, typer.Option(help="Minimum score 0..1")] = 0.0,
    rerank: Annotated[str, typer.Option(help="Rerank model, provider:model")] = "",
    chat_model: Annotated[str, typer.Option(help="Answer with this saved LLM (id or name, or 'default'); "
                                                 "adds BLEU and ROUGE")] = "",
    cross_language: Annotated[list[str] | None, typer.Option(
        "--cross-language", help="kb (the knowledge base's setting) | on | off: cross-language search; repeat to "
                                 "compare, e.g. --cross-language on --cross-language off")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Numbers and per-question results as JSON")] = False,
) -> None:
    """Evaluate retrieval (and answers) on a question set; compare modes or weights side by side."""
    from core.cli import find_kb, services
    from core.cli_models import find_model

    if not set_file.is_file():
        raise typer.BadParameter(f"{set_file} does not exist")
    for m in mode or []:
        if m not in MODES:
            raise typer.BadParameter(f"unknown mode '{m}' (valid: {', '.join(MODES)})")
    for c in cross_language or []:
        if c not in CROSS:
            raise typer.BadParameter(f"unknown --cross-language '{c}' (valid: {', '.join(CROSS)})")
    svc = services()
    target = find_kb(svc, kb)
    if any(svc.documents.list(TENANT, target.id, status=s, page_size=1).total for s in ACTIVE_STATES):
        raise InvalidInput(f"'{target.name}' is still processing documents; evaluate it once they are done")
    chat_id = "" if not chat_model else "default" if chat_model == "default" else find_model(svc, chat_model).id
    configs = configurations(mode or [], compare_modes, weight or [], k, threshold, rerank, chat_id, cross_language)
    report = svc.evaluation.sets.import_file(TENANT, set_file.read_bytes(), set_file.name, kb_id=target.id)
    if report.ignored_fields and not as_json:
        console.print(f"[yellow]Ignored unknown fields:[/] {escape(', '.join(report.ignored_fields))}", highlight=False)
    runs = svc.evaluation.start(TENANT, report.set.id, configs, kb_ids=[target.id])
    svc.eval_workers.drain()
    runs = [svc.evaluation.get_run(TENANT, r.id) for r in runs]
    if as_json:
        print(json.dumps({"knowledge_base": {"id": target.id, "name": target.name},
                          "question_set": {"id": report.set.id, "name": report.set.name,
                                           "questions": report.set.question_count},
                          "runs": [run_json(r, svc.evaluation.results(TENANT, r.id)) for r in runs]},
                         ensure_ascii=False, indent=2))
    else:
        console.print(metrics_table(runs, f"{report.set.name}: {report.set.question_count} questions on {target.name}"))
        for run in runs:
            missed = [r for r in svc.evaluation.results(TENANT, run.id) if r.first_relevant_rank is None]
            if missed:
                console.print(f"[bold]{escape(run.label)}[/] found nothing relevant for {len(missed)}: "
                              + escape("; ".join(r.question for r in missed[:5])) + (" …" if len(missed) > 5 else ""),
                              highlight=False)
    svc.close()
    if any(r.state != "completed" for r in runs):
        raise typer.Exit(1)
