"""Finding files in an inbox and fingerprinting them (content hash before any parsing)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from arflow.errors import ConfigError

IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", ".partial", ".swp", "~")
SIDECAR_SUFFIXES = (".gt.json", ".reason.json")


@dataclass(frozen=True)
class InboxFile:
    path: Path
    sha256: str
    size: int

    @property
    def name(self) -> str:
        return self.path.name


def is_candidate(path: Path) -> bool:
    """A regular, visible, complete-looking file that is not a sidecar of another file."""
    name = path.name
    if name.startswith((".", "~$")) or not path.is_file():
        return False
    lowered = name.lower()
    return not lowered.endswith(IGNORED_SUFFIXES + SIDECAR_SUFFIXES)


def discover(inbox: Path) -> list[Path]:
    """Candidate files under `inbox` (recursively), in a stable order."""
    if not inbox.is_dir():
        raise ConfigError(f"inbox {inbox} is not a directory")
    return sorted(p for p in inbox.rglob("*") if is_candidate(p))


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(path: Path) -> InboxFile:
    return InboxFile(path=path, sha256=sha256_of(path), size=path.stat().st_size)


def unique_by_content(files: list[InboxFile]) -> tuple[list[InboxFile], list[InboxFile]]:
    """Split into first occurrences and byte-identical repeats (within one batch)."""
    seen: set[str] = set()
    first: list[InboxFile] = []
    repeats: list[InboxFile] = []
    for item in files:
        (repeats if item.sha256 in seen else first).append(item)
        seen.add(item.sha256)
    return first, repeats
