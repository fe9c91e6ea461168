"""OCR-tolerant word matching: a word one letter off a known vocabulary word ("TOFAL" for
"total", "lnvoice" for "invoice") is read as that word. Only OCR words go through here
(a digital text layer is matched exactly), and only words of four letters or more, where
one edit rarely turns one real word into another.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

_MIN_LENGTH = 4


def one_edit_apart(text: str, target: str) -> bool:
    """Levenshtein distance at most 1 (one letter changed, added or dropped)."""
    if abs(len(text) - len(target)) > 1:
        return False
    if len(text) == len(target):
        return sum(a != b for a, b in zip(text, target, strict=True)) <= 1
    short, long = sorted((text, target), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


class Vocabulary:
    """Known words, and the closest of them to an unknown OCR word."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(w for w in words if w)
        self._by_length: dict[int, list[str]] = {}
        for word in sorted(self.words):
            if len(word) >= _MIN_LENGTH and word.isalpha():
                self._by_length.setdefault(len(word), []).append(word)
        self.closest = lru_cache(maxsize=8192)(self._closest)

    def _closest(self, token: str) -> str:
        """``token`` itself if known or not close to one known word, else that word."""
        if token in self.words or len(token) < _MIN_LENGTH:
            return token
        near = [w for n in (len(token) - 1, len(token), len(token) + 1)
                for w in self._by_length.get(n, ()) if one_edit_apart(token, w)]
        return near[0] if len(near) == 1 else token
