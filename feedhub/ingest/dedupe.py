"""Dedupe keys: which entries of a feed are the same story (DESIGN.md "Dedupe key").

Pure. Every format's parser keys a whole document at once through `assign_keys`, so RSS,
Atom, RDF and JSON Feed are deduped by one rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import replace

from feedhub.core.types import EntryData

__all__ = ["assign_keys", "content_hash", "guid_is_unreliable"]

# More than this share of a document's entries sharing an id with a different entry means
# the feed's ids are broken, not that one story is listed twice (FreshRSS-style).
_SMALL_SHARE = 0.1


def content_hash(*parts: str | None) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update((part or "").encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def _text_hash(entry: EntryData) -> str:
    """What a reader reads, without the date: the content-hash fallback key.

    The date is left out on purpose: feeds that regenerate every entry's date on each
    request (a volatile date) would otherwise make every poll look like all-new stories.
    The cost: two entries with no id, no link and the very same title and text are one.
    """
    return content_hash(entry.title, entry.summary, entry.content)


def guid_is_unreliable(entries: Iterable[EntryData]) -> bool:
    """True when one GUID is used for entries with different links (scriptingNews-style)."""
    links_by_guid: dict[str, str | None] = {}
    for entry in entries:
        if entry.guid is None:
            continue
        if entry.guid in links_by_guid and links_by_guid[entry.guid] != entry.url:
            return True
        links_by_guid.setdefault(entry.guid, entry.url)
    return False


def _base_key(entry: EntryData, unreliable: bool) -> str:
    if entry.guid is not None:
        key = f"guid:{entry.guid}"
        if unreliable and entry.url:
            key = f"{key} link:{entry.url}"
        return key
    if entry.url is not None:
        return f"link:{entry.url}"
    return f"hash:{_text_hash(entry)}"


def _clashing(entries: Sequence[EntryData], bases: Sequence[str]) -> set[str]:
    """Base keys that this document gives to entries that differ (link or text)."""
    first: dict[str, tuple[str | None, str]] = {}
    clashing: set[str] = set()
    for entry, base in zip(entries, bases, strict=True):
        identity = (entry.url, _text_hash(entry))
        if first.setdefault(base, identity) != identity:
            clashing.add(base)
    return clashing


def assign_keys(
    entries: Sequence[EntryData], *, guid_unreliable: bool = False
) -> tuple[tuple[EntryData, ...], bool]:
    """Give each entry its dedupe key; drop repeats within the document (first one wins).

    Key: guid, else link, else a hash of title + text (DESIGN.md "Dedupe key"; the hash
    leaves the date out, see `_text_hash`). FreshRSS-style hardening:

    - a GUID repeated for different links marks the feed's ids unreliable (DESIGN.md);
    - so does more than `_SMALL_SHARE` of the entries sharing an id (GUID, or link for
      entries without one) with an entry that differs: all-identical GUIDs, every item
      linking to the home page;
    - once unreliable (now or in an earlier poll), the link joins the GUID, and entries
      still sharing a key in this document get their text hash appended, so distinct
      stories are kept apart instead of all but the first being lost.

    Below the share, a shared id is taken at its word: the same story listed twice.
    Returns the keyed entries and the feed's updated unreliable flag (stored per feed).
    """
    reliable_bases = [_base_key(entry, False) for entry in entries]
    clashes = _clashing(entries, reliable_bases)
    clashing_entries = sum(base in clashes for base in reliable_bases)
    unreliable = (
        guid_unreliable
        or guid_is_unreliable(entries)
        or clashing_entries > _SMALL_SHARE * len(entries)
    )
    bases = [_base_key(entry, True) for entry in entries] if unreliable else reliable_bases
    clashes = _clashing(entries, bases) if unreliable else set()
    keyed: list[EntryData] = []
    seen: set[str] = set()
    for entry, base in zip(entries, bases, strict=True):
        key = f"{base} text:{_text_hash(entry)}" if base in clashes else base
        if len(key) > 512:
            key = f"long:{content_hash(key)}"
        if key in seen:
            continue
        seen.add(key)
        # The key it had before the feed's ids turned unreliable: the store finds rows
        # stored under it and re-keys them instead of importing the story again.
        alt_key = _base_key(entry, False) if unreliable else None
        keyed.append(replace(entry, key=key, alt_key=alt_key if alt_key != key else None))
    return tuple(keyed), unreliable
