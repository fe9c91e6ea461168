"""Extraction-quality findings: required fields read with too little confidence."""

from __future__ import annotations

from arflow.reasons import Reason
from models.domain import REQUIRED_FIELDS, ExtractionResult, Problem


def quality_problems(result: ExtractionResult, min_confidence: float) -> list[Problem]:
    """One LOW_CONFIDENCE problem per required field that is present but below the threshold."""
    problems: list[Problem] = []
    for name in REQUIRED_FIELDS:
        if result.invoice.get(name) is None:
            continue  # a missing field is MISSING_FIELD, raised by extraction
        score = result.confidence.get(name, 0.0)
        if score < min_confidence:
            problems.append(Problem(
                code=Reason.LOW_CONFIDENCE,
                message=f"{name} read with confidence {score:.2f} < {min_confidence:.2f}",
                field=name, found=f"{score:.2f}", expected=f">= {min_confidence:.2f}",
            ))
    return problems
