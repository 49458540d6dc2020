"""The cursor of publication-ordered lists: where a page ended, opaque to clients.

Lists sort by (listed_at, id) newest first; the cursor is that pair of the last article
shown, so articles that arrive later never shift the pages already read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from feedhub.core.errors import ValidationError

__all__ = ["Cursor"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_ID = 2**63 - 1  # a database BIGINT, as feedhub.core.types.MAX_ID


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a publication-ordered page ends: (listed_at, id) of its last article. Opaque
    to clients (`<microseconds>.<id>`): new arrivals never shift it, ties break by id."""

    listed_at: datetime
    id: int

    def encode(self) -> str:
        delta = self.listed_at - _EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return f"{micros}.{self.id}"

    @classmethod
    def decode(cls, raw: str) -> Cursor:
        try:
            micros_text, id_text = raw.split(".")
            micros, article_id = int(micros_text), int(id_text)
            listed = _EPOCH + timedelta(microseconds=micros)
        except (ValueError, OverflowError):
            raise ValidationError(f"cursor {raw[:40]!r} is not one this API gave") from None
        if not 1 <= article_id <= _MAX_ID:
            raise ValidationError(f"cursor {raw[:40]!r} is not one this API gave")
        return cls(listed, article_id)
