"""The item page of invoices that arrived as images (PNG, JPEG with an EXIF orientation, a
multi-page TIFF, and the TIFF parts split out of a scanned bundle): every page is served as a
PNG, and the evidence boxes lie on the page where the words were read."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from test_webapp import ROOT, items_by_source, login, run_demo_batch

from arflow.db import make_engine, session_scope
from arflow.errors import DocumentTooLarge
from arflow.settings import Settings
from extractors.ocr import images
from extractors.render_limits import MAX_PAGE_PIXELS
from generator import render_scanned
from generator.bundles import write_bundle
from models.db import Document
from webapp.app import create_app
from webapp.pages import MIN_TRUSTED_DPI, document_path, page_png, page_sizes

INVOICES = ROOT / "data" / "invoices"
PNG, JPEG, TIFF = ("001_ferreteria_hermanos.png", "004_informatica_guadalquivir.jpg",
                   "005_talleres_la.tif")
BUNDLE = "scanner.tif"
EXIF_ORIENTATION = 0x0112


def _render(pdf: Path, dpi: int) -> list[Image.Image]:
    document = pdfium.PdfDocument(str(pdf))
    try:
        return [page.render(scale=dpi / 72).to_pil().convert("RGB") for page in document]
    finally:
        document.close()


def _write_images(inbox: Path, work: Path) -> None:
    # a PNG that does not state its resolution (read as the settings' OCR dpi)
    _render(INVOICES / "001_ferreteria_hermanos.pdf", 300)[0].save(inbox / PNG)
    # a phone-style JPEG stored on its side, upright by its EXIF orientation (6: turn 90° cw)
    upright = _render(INVOICES / "004_informatica_guadalquivir.pdf", 200)[0]
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    upright.transpose(Image.Transpose.ROTATE_90).save(inbox / JPEG, dpi=(200, 200),
                                                      exif=exif, quality=92)
    # a two-page invoice scanned into one TIFF at 200 dpi
    render_scanned(INVOICES / "005_talleres_la.pdf", inbox / TIFF, seed=3, dpi=200,
                   skew_deg=0.0, noise=2.0)
    # two invoices scanned into one TIFF: split into a TIFF per invoice under <home>/split/
    write_bundle([INVOICES / "002_transportes_alcazar.pdf",
                  INVOICES / "010_ferreteria_hermanos.pdf"], work / "two.pdf",
                 ROOT / "data" / "truth")
    render_scanned(work / "two.pdf", inbox / BUNDLE, seed=5, dpi=200, skew_deg=0.0, noise=2.0)


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("web-images")
    inbox = home / "inbox"
    inbox.mkdir()
    _write_images(inbox, tmp_path_factory.mktemp("web-images-work"))
    return run_demo_batch(home, inbox)


@pytest.fixture
def client(scans: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(scans), follow_redirects=False) as test_client:
        login(test_client, "fiona")
        yield test_client


def _item(settings: Settings, source: str) -> int:
    found = items_by_source(settings)
    assert source in found, f"{source} has no review item; items: {sorted(found)}"
    return found[source][0]


def _pages(page: str) -> dict[int, tuple[float, float, list[tuple[float, ...]]]]:
    """page index -> (viewBox width, height, the evidence boxes drawn on it)."""
    out = {}
    for found in re.finditer(r'<div class="page" data-page="(\d+)">(.*?)</div>', page, re.S):
        box = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', found.group(2))
        assert box is not None
        rects = [tuple(float(v) for v in r) for r in re.findall(
            r'<rect class="box[^"]*" data-field="[^"]+" x="([-\d.e]+)" y="([-\d.e]+)" '
            r'width="([-\d.e]+)" height="([-\d.e]+)"', found.group(2))]
        out[int(found.group(1))] = (float(box.group(1)), float(box.group(2)), rects)
    return out


def _png(client: TestClient, item_id: int, index: int) -> Image.Image:
    response = client.get(f"/items/{item_id}/pages/{index}.png")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "private, max-age=300"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    return image


def _check_item(client: TestClient, item_id: int, page_count: int) -> int:
    """The item page shows page images whose boxes lie on them and on ink; every page is
    served as a PNG of the page's proportions, none beyond the last. The boxes checked."""
    page = client.get(f"/items/{item_id}").text
    assert "No page image" not in page
    shown = _pages(page)
    assert set(shown) == set(range(page_count)), "every page is on the item page"
    checked = 0
    for index in range(page_count):
        image = _png(client, item_id, index)
        if index not in shown:
            continue
        width, height, rects = shown[index]
        # the image and the overlay (preserveAspectRatio="none") have the same proportions
        assert image.width / image.height == pytest.approx(width / height, rel=0.01)
        grey = image.convert("L")
        for x, y, w, h in rects:
            assert x >= 0 and y >= 0 and w > 0 and h > 0
            assert x + w <= width + 0.5 and y + h <= height + 0.5
            left, top = round(x * image.width / width), round(y * image.height / height)
            right = round((x + w) * image.width / width)
            bottom = round((y + h) * image.height / height)
            extrema = grey.crop((left, top, max(right, left + 1), max(bottom, top + 1)))
            assert extrema.getextrema()[0] < 128, f"no ink under the box {x, y, w, h}"
            checked += 1
    assert client.get(f"/items/{item_id}/pages/{page_count}.png").status_code == 404
    assert client.get(f"/items/{item_id}/pages/-1.png").status_code == 404
    return checked


def test_a_png_invoice_shows_its_page_with_the_evidence(client: TestClient,
                                                        scans: Settings) -> None:
    assert _check_item(client, _item(scans, PNG), 1) > 0


def test_a_jpeg_on_its_side_is_shown_upright_as_it_was_read(client: TestClient,
                                                            scans: Settings) -> None:
    item_id = _item(scans, JPEG)
    assert _check_item(client, item_id, 1) > 0
    image = _png(client, item_id, 0)
    assert image.height > image.width  # upright A4, not as stored (on its side)


def test_every_page_of_a_multi_page_tiff_is_served(client: TestClient, scans: Settings) -> None:
    item_id = _item(scans, TIFF)
    assert _check_item(client, item_id, 2) > 0
    sizes = {_png(client, item_id, i).size for i in (0, 1)}
    assert len(sizes) == 1  # both A4 pages at the same scale


def test_the_tiff_parts_of_a_scanned_bundle_show_their_pages(client: TestClient,
                                                             scans: Settings) -> None:
    engine = make_engine(scans.database_url)
    with session_scope(engine) as session:
        parts = {d.source_name: document_path(d, scans) for d in session.scalars(
            select(Document).where(Document.parent_id.is_not(None)))}
    engine.dispose()
    assert sorted(parts) == [f"{BUNDLE}, page 1", f"{BUNDLE}, page 2"]
    items = items_by_source(scans)
    reviewed = [name for name in parts if name in items]
    assert reviewed  # 010 (page 2) waits for review; 002 (page 1) may have been approved
    for path in parts.values():
        assert path is not None and path.parent == scans.split_dir and path.suffix == ".tif"
    for name in reviewed:
        assert _check_item(client, items[name][0], 1) > 0


def test_an_image_page_is_sized_in_points_of_its_stated_or_assumed_resolution(
    tmp_path: Path,
) -> None:
    """A4 at 200 dpi stated, and at 300 dpi not stated (the OCR's assumption): 595 x 842 pt;
    the preview is at most the PDF preview's 108 dpi and never enlarged."""
    assert MIN_TRUSTED_DPI == images.MIN_TRUSTED_DPI  # the page sizes are the OCR's
    stated, unstated = tmp_path / "stated.tif", tmp_path / "unstated.png"
    pages = [Image.new("L", (1654, 2339), 255), Image.new("L", (2339, 1654), 255)]
    pages[0].save(stated, save_all=True, append_images=pages[1:], dpi=(200, 200))
    Image.new("RGB", (2480, 3508), "white").save(unstated)
    sizes = page_sizes(stated, stated.stat().st_mtime)
    assert [tuple(round(v) for v in s) for s in sizes] == [(595, 842), (842, 595)]
    assert [round(v) for v in page_sizes(unstated, unstated.stat().st_mtime)[0]] == [595, 842]
    landscape = Image.open(io.BytesIO(page_png(stated, stated.stat().st_mtime, 1)))
    assert landscape.size == (1263, 893)  # 108 dpi
    portrait = Image.open(io.BytesIO(page_png(stated, stated.stat().st_mtime, 0)))
    assert portrait.size == (900, 1273)  # not narrower than PREVIEW_MIN_WIDTH
    small = tmp_path / "receipt.png"
    Image.new("RGB", (600, 1500), "white").save(small, dpi=(72, 72))  # 72 dpi: not trusted
    assert Image.open(io.BytesIO(page_png(small, small.stat().st_mtime, 0))).size == (600, 1500)
    with pytest.raises(IndexError):
        page_png(stated, stated.stat().st_mtime, 2)


def test_an_image_too_large_to_render_is_refused(tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    Image.new("1", (9000, MAX_PAGE_PIXELS // 9000 + 10), 1).save(huge)
    with pytest.raises(DocumentTooLarge):
        page_png(huge, huge.stat().st_mtime, 0)
