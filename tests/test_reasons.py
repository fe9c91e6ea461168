from pathlib import Path

from arflow.reasons import REASONS, Reason, describe

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_reason_has_a_meaning() -> None:
    assert set(REASONS) == set(Reason)
    assert all(text.endswith(".") for text in REASONS.values())


def test_readme_documents_every_reason_code() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [code.value for code in Reason if f"| `{code.value}` |" not in text]
    assert missing == []


def test_describe_unknown_code_returns_code() -> None:
    assert describe("NOT_A_CODE") == "NOT_A_CODE"
    assert describe("INVALID_IBAN") == REASONS[Reason.INVALID_IBAN]
    assert "database refused" in describe("STORAGE_ERROR")
