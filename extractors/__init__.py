"""Document extraction: digital PDFs here; OCR (`extractors.ocr`) and e-invoices
(`extractors.einvoice`) plug in through `register_extractor`."""

from extractors.api import FileProbe, extract_file, register_extractor, unregister_extractor
from extractors.fields import FieldResult, extract_fields


def _register_builtin() -> None:
    """Plug the built-in non-digital extractors into the registry (late: they import api)."""
    from extractors.einvoice.extractor import register as register_einvoice  # noqa: PLC0415
    from extractors.ocr.extractor import register as register_ocr  # noqa: PLC0415

    register_einvoice()  # first: a hybrid PDF's XML wins over its text and images
    register_ocr()


_register_builtin()

__all__ = [
    "FieldResult",
    "FileProbe",
    "extract_fields",
    "extract_file",
    "register_extractor",
    "unregister_extractor",
]
