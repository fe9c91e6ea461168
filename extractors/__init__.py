"""Document extraction: digital PDFs here; OCR (`extractors.ocr`) and e-invoices
(`extractors.einvoice`) plug in through `register_extractor`."""

from extractors.api import FileProbe, extract_file, register_extractor, unregister_extractor
from extractors.fields import FieldResult, extract_fields

__all__ = [
    "FieldResult",
    "FileProbe",
    "extract_fields",
    "extract_file",
    "register_extractor",
    "unregister_extractor",
]
