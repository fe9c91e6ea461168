"""The OCR path for scans and photos: page images -> OpenCV clean-up -> Tesseract -> words
with boxes in PDF points (``models.domain.WordBox``), so the field extractor reads OCR words
exactly like a digital text layer.

Modules: ``tesseract`` (the one wrapper around the binary), ``geometry`` (orientation and
skew), ``preprocess`` (switchable clean-up steps), ``images`` (page images from files),
``textlayer`` (does a PDF need OCR?), ``pages`` (``ocr_document``: pages in parallel),
``consensus`` (more Tesseract readings and a vote when a field is missing), ``rapid`` (the
one wrapper around the second engine, PP-OCR), ``engines`` (Tesseract's and PP-OCR's
readings of a photo combined), ``synthetic`` (degraded test pages with known words).
"""

from extractors.ocr.images import PageImage, load_pages
from extractors.ocr.pages import ocr_document
from extractors.ocr.preprocess import PreprocessOptions
from extractors.ocr.tesseract import TesseractOptions
from extractors.ocr.textlayer import pdf_needs_ocr

__all__ = ["PageImage", "PreprocessOptions", "TesseractOptions", "load_pages", "ocr_document",
           "pdf_needs_ocr"]
