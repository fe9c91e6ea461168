"""Long file names, for real on disk (ext4 and the like allow 255 bytes per name).

arflow names its copies after the file: `<hash prefix>-<name>` in quarantine/ (and a
`.reason.json` beside it), `<name>` (or `<stem>.<hash prefix><suffix>`) in the drop folder's
archive and quarantine, `<hash prefix>-<stem>-p1-1.pdf` in split/, the name as text in
staging/ (a Latin-1 name's odd bytes as \\xNN, 4 characters each). Before, a name near the
limit made those names too long ("File name too long"): `arflow run` failed after its commit
when quarantining (the next run skipped the file, its bytes never kept); a name whose text
is over 255 bytes was never staged, "left for the next run" on every run; the drop folder
could not write a reason file or a variant name and left such files in place, failing on
every pass; a bundle with a long name was not split. Now the copies' names are shortened
(`arflow.names.short_name`) and the whole name is kept where the copy is described.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from arflow.db import session_scope, upgrade
from arflow.engines import engine_for
from arflow.names import NAME_MAX, path_text, short_name
from arflow.retry import retry_failed
from arflow.runner import run_batch
from arflow.settings import Settings, load_settings
from generator import generate_documents
from generator.bundles import write_bundle
from ingest.documents import open_context
from ingest.dropfolder import DropFolder, poll_once
from ingest.eml import parse_message
from ingest.mailbox import store_attachment
from models import db, repo

REPO = Path(__file__).resolve().parent.parent
GOOD = (REPO / "data" / "invoices" / "001_ferreteria_hermanos.pdf").read_bytes()
OTHER = (REPO / "data" / "invoices" / "002_transportes_alcazar.pdf").read_bytes()
BROKEN = b"%PDF-1.4\nnot a pdf body at all"
UTF8_NAME = "é" * 123 + ".pdf"  # 250 bytes on disk: 123 two-byte letters
# 200 bytes on disk; as text (`path_text`) each of its 96 Latin-1 "é" is "\xe9": 488
# characters, over 255 bytes, within the 512 of documents.source_name
LATIN1_NAME = b"fac_" + b"a\xe9" * 96 + b".pdf"


def test_the_names_used_here_are_what_they_claim() -> None:
    assert len(UTF8_NAME.encode()) == 250
    assert len(LATIN1_NAME) == 200
    text = path_text(os.fsdecode(LATIN1_NAME))
    assert len(text.encode()) == 488 > NAME_MAX
    cut = short_name(text)
    assert cut.endswith("….pdf") and len(cut.encode()) <= NAME_MAX - 48
    assert short_name("factura.pdf") == "factura.pdf"


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Iterator[Settings]:
    upgrade(db_url)
    base = load_settings({"ARFLOW_HOME": str(tmp_path / "home")})
    yield replace(base, database_url=db_url, workers=1)


def _write(folder: Path, name: str | bytes, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    raw = name if isinstance(name, bytes) else name.encode()
    path = Path(os.fsdecode(os.fsencode(folder) + b"/" + raw))
    path.write_bytes(data)
    return path


def _documents(settings: Settings) -> dict[str, db.Document]:
    with session_scope(engine_for(settings.database_url)) as session:
        return {d.source_name: d for d in session.scalars(select(db.Document))}


def _quarantined(folder: Path, data: bytes) -> tuple[Path, dict[str, Any]]:
    """The one copy of `data` in `folder`, and its reason file."""
    copies = [p for p in folder.iterdir()
              if not p.name.endswith(".reason.json") and p.read_bytes() == data]
    assert len(copies) == 1, sorted(p.name for p in folder.iterdir())
    reason = copies[0].with_name(copies[0].name + ".reason.json")
    return copies[0], json.loads(reason.read_text(encoding="utf-8"))


def test_a_name_over_255_bytes_as_text_is_read(settings: Settings, tmp_path: Path) -> None:
    """Its private copy was named after the text (`intake.stage`): "File name too long", so
    the file was "left for the next run", on every run."""
    inbox = tmp_path / "inbox"
    _write(inbox, LATIN1_NAME, GOOD)
    latin1 = path_text(os.fsdecode(LATIN1_NAME))

    summary = run_batch(settings, inbox)

    assert (summary.waiting, summary.processed) == ([], 1)
    [document] = _documents(settings).values()
    assert (document.source_name, document.original_path) == (latin1, f"{inbox}/{latin1}")
    assert document.status in {"auto_approved", "needs_review"}, document.reasons
    assert run_batch(settings, inbox).skipped == 1


def test_arflow_run_quarantines_failed_files_with_long_names(
    settings: Settings, tmp_path: Path,
) -> None:
    """A good and a broken file under a 250-byte UTF-8 name, and under a 200-byte Latin-1
    name. The broken ones' copies were named `<hash>-<name>`, too long: `arflow run` failed
    after its commit, their bytes never kept, and the next run skipped them. Now kept under
    a short name that `arflow retry` finds by hash, the whole name in the reason file."""
    inbox = tmp_path / "inbox"
    _write(inbox / "utf8", UTF8_NAME, GOOD)
    _write(inbox / "utf8-broken", UTF8_NAME, BROKEN)
    _write(inbox / "latin1", LATIN1_NAME, OTHER)
    _write(inbox / "latin1-broken", LATIN1_NAME, BROKEN + b"\n2")
    latin1 = path_text(os.fsdecode(LATIN1_NAME))

    summary = run_batch(settings, inbox)

    assert summary.waiting == []
    assert (summary.processed, summary.by_status.get("failed")) == (4, 2)
    with session_scope(engine_for(settings.database_url)) as session:
        by_path = {d.original_path: d for d in session.scalars(select(db.Document))}
    for folder, name in (("utf8", UTF8_NAME), ("latin1", latin1)):
        good = by_path[f"{inbox}/{folder}/{name}"]
        assert good.source_name == name
        assert good.status in {"auto_approved", "needs_review"}, good.reasons
        broken = by_path[f"{inbox}/{folder}-broken/{name}"]
        assert (broken.source_name, broken.status) == (name, "failed")
    for data, name in ((BROKEN, UTF8_NAME), (BROKEN + b"\n2", latin1)):
        copy, reason = _quarantined(settings.quarantine_dir, data)
        digest = hashlib.sha256(data).hexdigest()
        assert copy.name == f"{digest[:12]}-{short_name(name)}"
        assert len(copy.name.encode()) + len(".reason.json") <= NAME_MAX
        assert reason["name"] == name and reason["source"].endswith(f"-broken/{name}")
    assert run_batch(settings, inbox).skipped == 4

    shutil.rmtree(inbox)  # the broken files' bytes are now only in quarantine/
    engine = engine_for(settings.database_url)
    with session_scope(engine) as session:
        master = repo.load_master_data(session)
    retried = retry_failed(engine, settings, master)
    assert {(r.source_name, r.status) for r in retried} == {(UTF8_NAME, "failed"),
                                                            (latin1, "failed")}, \
        "the short copies are found by their hash (status None: bytes not found)"


def test_a_bundle_with_a_long_name_is_split_into_its_invoices(
    settings: Settings, tmp_path: Path,
) -> None:
    """Its invoices were written to split/ as `<hash>-<stem>-p1-1.pdf`: with a 250-byte
    name, too long, so the file was not split and went to review whole."""
    documents = generate_documents(tmp_path / "generated", 2, 88)
    write_bundle(documents, tmp_path / "bundle.pdf")
    inbox = tmp_path / "inbox"
    _write(inbox, UTF8_NAME, (tmp_path / "bundle.pdf").read_bytes())

    summary = run_batch(settings, inbox)

    stored = _documents(settings)
    assert stored[UTF8_NAME].status == "split", stored[UTF8_NAME].reasons
    parts = sorted(name for name in stored if name != UTF8_NAME)
    assert len(parts) == 2 and all(p.startswith(f"{UTF8_NAME}, page") for p in parts), parts
    assert summary.processed == 3


def test_the_drop_folder_splits_a_bundle_with_a_long_name(
    settings: Settings, tmp_path: Path,
) -> None:
    """The drop folder reads the file where it was found (`arflow run` reads a private copy
    with a short name), so its parts were named after the long name and not written: the
    file went to review whole (MULTIPLE_INVOICES) instead of split."""
    documents = generate_documents(tmp_path / "generated", 2, 88)
    write_bundle(documents, tmp_path / "bundle.pdf")
    drop = tmp_path / "drop"
    _write(drop, UTF8_NAME, (tmp_path / "bundle.pdf").read_bytes())
    ctx = open_context(settings, "drop:test")
    folder = DropFolder.from_settings(settings, drop, stable_delay=0.05)

    assert poll_once(ctx, folder).outcomes == {"processed": 1}

    stored = _documents(settings)
    assert stored[UTF8_NAME].status == "split", stored[UTF8_NAME].reasons
    assert len([name for name in stored if name != UTF8_NAME]) == 2


def test_the_drop_folder_quarantines_and_archives_files_with_long_names(
    settings: Settings, tmp_path: Path,
) -> None:
    """The reason file beside a quarantined copy (`<name>.reason.json`), and an archived
    name's variant (`<stem>.<hash><suffix>`) for another file of the same name, were too
    long: the file stayed in the drop folder and failed on every pass."""
    drop = tmp_path / "drop"
    _write(drop / "a", UTF8_NAME, GOOD)
    _write(drop / "b", UTF8_NAME, BROKEN)
    _write(drop / "c", LATIN1_NAME, BROKEN + b"\n2")
    ctx = open_context(settings, "drop:test")
    folder = DropFolder.from_settings(settings, drop, stable_delay=0.05)

    first = poll_once(ctx, folder)

    assert first.errors == []
    assert first.outcomes == {"processed": 1, "quarantined": 2}
    latin1 = path_text(os.fsdecode(LATIN1_NAME))
    for data, name in ((BROKEN, UTF8_NAME), (BROKEN + b"\n2", latin1)):
        copy, reason = _quarantined(folder.quarantine, data)
        assert copy.name == short_name(name)
        assert reason["name"] == name and reason["source"].endswith(f"/{name}")
        assert reason["reasons"][0]["code"] == "UNREADABLE_DOCUMENT"
    archived = [p for p in folder.archive.rglob("*") if p.is_file()]
    assert [p.name for p in archived] == [short_name(UTF8_NAME)]
    assert archived[0].read_bytes() == GOOD

    _write(drop / "a", UTF8_NAME, OTHER)  # another file of the same name: a variant
    second = poll_once(ctx, folder)

    assert second.errors == [] and second.outcomes == {"processed": 1}
    names = sorted(p.name for p in folder.archive.rglob("*") if p.is_file())
    stem, suffix = os.path.splitext(short_name(UTF8_NAME))
    tag = hashlib.sha256(OTHER).hexdigest()[:12]
    assert names == sorted([short_name(UTF8_NAME), f"{stem}.{tag}{suffix}"])
    assert [p for p in drop.rglob("*") if p.is_file()] == []
    assert poll_once(ctx, folder).taken == 0


def test_a_mail_attachment_with_a_name_of_many_bytes_is_archived(tmp_path: Path) -> None:
    """An attachment name is cut to 120 characters (`eml.safe_name`), which in a script of
    3 bytes a letter is 360 bytes: its archive copy could not be written and the mailbox
    pass stopped on the message, on every pass."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "s@example.com", "ap@example.com", "x"
    message.set_content("See attached.")
    long_name = "請求書" * 50 + ".pdf"
    message.add_attachment(GOOD, maintype="application", subtype="pdf", filename=long_name)
    [attachment] = parse_message(message.as_bytes()).attachments
    assert len(attachment.name.encode()) > NAME_MAX

    stored = store_attachment(tmp_path / "archive", attachment)

    assert stored.read_bytes() == GOOD
    digest = hashlib.sha256(GOOD).hexdigest()
    assert stored.name == f"{digest[:12]}-{short_name(attachment.name)}"
    assert store_attachment(tmp_path / "archive", attachment) == stored  # once
