"""The one error tree. Each error carries a machine-readable code (a `Reason` or an
operational code); `arflow.cli` translates them to exit codes at one boundary.

Expected business outcomes (duplicate, needs review) are *results*, never exceptions.
"""

from __future__ import annotations

from arflow.reasons import Reason


class ArflowError(Exception):
    """Base of every error arflow raises on purpose."""

    code: str = "ARFLOW_ERROR"
    exit_code: int = 1

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class ConfigError(ArflowError):
    code = "CONFIG_ERROR"
    exit_code = 2


class DocumentError(ArflowError):
    """A document cannot be read; the document is quarantined with this code."""

    code = Reason.UNREADABLE_DOCUMENT
    exit_code = 3


class EncryptedDocument(DocumentError):
    code = Reason.ENCRYPTED_DOCUMENT


class EmptyDocument(DocumentError):
    code = Reason.EMPTY_DOCUMENT


class UnsupportedFormat(DocumentError):
    code = Reason.UNSUPPORTED_FORMAT


class DocumentTooLarge(DocumentError):
    code = Reason.FILE_TOO_LARGE


class ToolError(ArflowError):
    """An external tool (tesseract, database, IMAP) failed, crashed or timed out."""

    code = "TOOL_ERROR"
    exit_code = 4


class ToolTimeout(ToolError):
    code = "TOOL_TIMEOUT"


class ToolMissing(ToolError):
    code = "TOOL_MISSING"


class InternalError(ArflowError):
    """arflow failed on a file in a way it does not expect: a bug. A batch stores that file
    as failed with this code and goes on; `arflow retry --reason INTERNAL_ERROR` reads it
    again once the bug is fixed."""

    code = "INTERNAL_ERROR"
    exit_code = 70  # EX_SOFTWARE, as an unexpected error of the CLI itself


class StorageError(ArflowError):
    code = "STORAGE_ERROR"
    exit_code = 5


class MasterDataError(ArflowError):
    """A master-data CSV row is invalid; carries its line number and column."""

    code = "MASTER_DATA_ERROR"
    exit_code = 6

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None) -> None:
        where = ""
        if line is not None:
            where = f"line {line}" + (f", column {column!r}" if column else "") + ": "
        super().__init__(where + message)
        self.line = line
        self.column = column
