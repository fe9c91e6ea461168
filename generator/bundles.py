"""Several generated invoices merged into one PDF, as a scanner's batch or a merged mail
attachment delivers them, with the truth of where each invoice starts and ends."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium

from generator.invoices import load_ground_truth
from generator.scenario import Scenario
from models.domain import pages_label


@dataclass(frozen=True)
class BundlePart:
    """Pages `first`..`last` (0-based, inclusive) hold the invoice numbered `number`."""

    first: int
    last: int
    number: str | None


def write_bundle(documents: Sequence[Path], out_path: Path,
                 truth_dir: Path | None = None) -> list[BundlePart]:
    """Merge generated PDFs into `out_path`; their ground truth is beside them, or in
    `truth_dir`."""
    merged = pdfium.PdfDocument.new()
    parts = []
    try:
        for path in documents:
            source = pdfium.PdfDocument(path)
            try:
                start = len(merged)
                merged.import_pages(source)
            finally:
                source.close()
            parts.append(BundlePart(start, len(merged) - 1,
                                    load_ground_truth(path, truth_dir).invoice_number))
        out_path.parent.mkdir(parents=True, exist_ok=True)
        merged.save(out_path)
    finally:
        merged.close()
    return parts


def bundle_scenario(scenario: Scenario, size: int, every: int = 2) -> list[Path]:
    """Merge the first batch's invoices, `size` at a time (one group in `every`), into scanner
    batches ``scanner-batch-NN.pdf``, and rename their expectations after the parts arflow
    makes of them ("scanner-batch-01.pdf, pages 2-3"). Returns the bundles written."""
    batch = scenario.batches[0]
    files = sorted(batch.glob("*.pdf"))
    groups = [files[i:i + size] for i in range(0, len(files) - size + 1, size)][::every]
    expected = scenario.expected()
    bundles, renamed = [], {}
    for number, group in enumerate(groups, start=1):
        target = batch / f"scanner-batch-{number:02d}.pdf"
        for path, part in zip(group, write_bundle(group, target, scenario.truth_dir),
                              strict=True):
            renamed[path.name] = f"{target.name}, {pages_label(part.first, part.last)}"
            expected[renamed[path.name]] = expected.pop(path.name)
            path.unlink()
        bundles.append(target)
    for entry in expected.values():
        entry["duplicate_of"] = renamed.get(entry["duplicate_of"], entry["duplicate_of"])
    scenario.expected_json.write_text(
        json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return bundles

