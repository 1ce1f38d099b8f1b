"""Evaluation: question sets, runs over knowledge bases, retrieval and generation metrics, comparisons."""

from core.evaluation.runs import EvaluationWorkers, RunExecutor
from core.evaluation.schemas import Question, QuestionResult, QuestionSetInfo, RunConfig, RunInfo
from core.evaluation.service import EvaluationService

__all__ = ["EvaluationService", "EvaluationWorkers", "Question", "QuestionResult", "QuestionSetInfo", "RunConfig",
           "RunExecutor", "RunInfo"]
