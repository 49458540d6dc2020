"""How big a request body may be, per route, and the checks made on it before any parser
sees it. Pure: bytes and sizes in, a refusal (or None) out.

Litestar parses forms and JSON on the event loop: a 10 MB form of millions of fields held
every other request, `/healthz` included, for seconds, and JSON nested a thousand deep
raised RecursionError in the decoder. Every limit here is checked with C-speed byte scans
(`bytes.count`, one regular expression) before a parser runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "MAX_JSON_DEPTH",
    "BodyLimits",
    "form_fields",
    "json_too_deep",
]

# Our JSON bodies are at most three levels deep; msgspec's decoder recurses once per level
# and hits Python's recursion limit near a thousand.
MAX_JSON_DEPTH = 32

# Routes whose bodies are a name and a password: a sign-in needs well under 1 KB.
_SIGN_IN_PATHS = frozenset(
    {
        "/api/session",
        "/api/me/password",
        "/accounts/ClientLogin",
        "/api/greader.php/accounts/ClientLogin",
    }
)
# Routes that take a whole subscription list.
_IMPORT_PATHS = frozenset({"/api/admin/opml", "/api/admin/opml/jobs"})
# WebSub hubs push whole feed documents here: a feed's own body cap applies.
_PUSH_PREFIX = "/websub/"
_FORM = b"application/x-www-form-urlencoded"
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """Bytes a body may have on each kind of route, and the fields a form may carry."""

    default: int = 128 * 1024
    sign_in: int = 4096
    imports: int = 10 * 1024 * 1024
    pushes: int = 10 * 1024 * 1024
    form_fields: int = 1100

    def for_path(self, path: str) -> int:
        if path in _SIGN_IN_PATHS:
            return self.sign_in
        if path.rstrip("/") in _IMPORT_PATHS:
            return self.imports
        if path.startswith(_PUSH_PREFIX):
            return self.pushes
        return self.default

    def refusal(self, content_type: bytes, query: bytes, body: bytes) -> str | None:
        """Why this complete body must not reach a parser, or None."""
        is_form = content_type.split(b";", 1)[0].strip().lower() == _FORM
        fields = form_fields(query) + (form_fields(body) if is_form else 0)
        if fields > self.form_fields:
            return f"too many parameters: at most {self.form_fields}"
        is_xml = b"xml" in content_type.lower()  # OPML and pushed feeds: brackets are text
        if not is_form and not is_xml and json_too_deep(body, MAX_JSON_DEPTH):
            return f"JSON nested too deeply: at most {MAX_JSON_DEPTH} levels"
        return None


def form_fields(encoded: bytes) -> int:
    """How many `name=value` pairs an urlencoded string holds, without decoding it."""
    if not encoded:
        return 0
    return encoded.count(b"&") + 1


def json_too_deep(body: bytes, limit: int) -> bool:
    """Whether a JSON text nests arrays/objects more than `limit` deep. Brackets inside
    strings do not count; anything that is not JSON is left to the decoder to refuse."""
    start = body.lstrip()[:1]
    if start not in (b"[", b"{"):
        return False
    # At most as deep as it has opening brackets: almost every body is decided here.
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
