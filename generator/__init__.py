"""Synthetic invoices with ground truth, for tests, benchmarks and the demo.

Development uses seeds below 1000; benchmarks use seeds of 10000 and above.
`render_scanned` is imported on first use (OpenCV and numpy cost ~0.1 s to import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from generator.invoices import generate_documents, load_ground_truth, load_record
from generator.model import LAYOUTS
from generator.scenario import Scenario, build_scenario

if TYPE_CHECKING:
    from generator.scanned import render_scanned

__all__ = [
    "LAYOUTS",
    "Scenario",
    "build_scenario",
    "generate_documents",
    "load_ground_truth",
    "load_record",
    "render_scanned",
]


def __getattr__(name: str) -> Any:
    if name == "render_scanned":
        from generator.scanned import render_scanned  # noqa: PLC0415

        return render_scanned
    raise AttributeError(f"module 'generator' has no attribute {name!r}")
