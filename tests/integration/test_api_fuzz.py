"""A property-based API fuzzer in the suite (Schemathesis over the OpenAPI
document), so the 500s of the hardening rounds stay fixed.

Every route of `/schema/openapi.json` is called with generated requests, valid and invalid
(schemathesis' positive and negative modes), with the admin token, against a real
`feedhub serve`. A failure is any 5xx, a status or media type the document does not list,
a body that breaks its schema, or invalid input accepted. The stream (infinite, so not
callable by Schemathesis' client) gets its own property: its headers and first event.

Bounded: `FUZZ_EXAMPLES` examples per route and mode, fixed seed, no example database, so
the run is repeatable and takes seconds (FEEDHUB_FUZZ_EXAMPLES raises it for a long hunt).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from tests.support.server import TOKEN, ServerProcess

FUZZ_EXAMPLES = int(os.environ.get("FEEDHUB_FUZZ_EXAMPLES", "12"))
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_ID = 2**63 - 1
# "Schema-valid data must be accepted" cannot hold for an API with rules beyond the shape
# of a request: a feed's category must exist, `before` and `after` exclude each other (the
# fuzzer's first finding; both answer 422 in words, by design). Everything else is checked.
# "Schema-violating data must be rejected" misreads query strings, where every value is
# text: `?category=3.3e16` is a category slug like any other (a 200 with no articles).
# Invalid requests are still sent (negative mode) and still must never get a 5xx, an
# undocumented status or media type, or a body that breaks the schema.
EXCLUDED = [positive_data_acceptance, negative_data_rejection]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with one category and no scheduler tick; feeds on private addresses are
    refused (as in production) and a fetch gives up fast, so a generated URL that happens
    to be public costs at most a second."""
    env = {
        "FEEDHUB_ALLOW_PRIVATE_NETWORKS": "false",
        "FEEDHUB_TICK_SECONDS": "3600",
        "FEEDHUB_FETCH_TIMEOUT_SECONDS": "1",
        "FEEDHUB_FETCH_DEADLINE_SECONDS": "2",
    }
    server = ServerProcess(workdir=tmp_path_factory.mktemp("fuzz"), env=env).start()
    try:
        server.add_category("Tech", "tech")
        yield server
    finally:
        server.kill()


def _fuzz_settings() -> Any:
    return settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )


@pytest.mark.slow
def test_every_route_answers_within_its_documented_contract(api: ServerProcess) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/schema/openapi.json")
    failures: list[str] = []
    operations = [op.ok() for op in schema.get_all_operations()]
    called = 0
    for operation in operations:
        if operation.path == "/api/stream":
            continue  # infinite: see the stream's own property below
        if operation.path.startswith(("/reader/", "/accounts/")):
            # The Google Reader API is listed for its readers, in its protocol's own
            # shapes (form bodies, `Auth=` lines); tests/integration/readers checks it.
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @_fuzz_settings()
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                case.call_and_validate(
                    base_url=api.url, headers=AUTH, timeout=15, excluded_checks=EXCLUDED
                )

            try:
                run()
            except Unsatisfiable:
                # No invalid request exists for a route without parameters or body.
                assert mode is GenerationMode.NEGATIVE, operation.path
                continue
            except Exception as exc:  # collect all, report together
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
            called += 1
    assert called >= 25, f"too few operations fuzzed: {called}"
    assert not failures, "\n\n".join(failures)
    # The server is still healthy after all that.
    assert httpx.get(f"{api.url}/healthz", timeout=5).status_code == 200


_ids = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    # What a header may carry (visible ASCII, space, obs-text); DEL is refused by uvicorn.
    st.text(
        alphabet=st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"),
        max_size=40,
    ),
)


@_fuzz_settings()
@given(
    categories=st.lists(st.text(min_size=0, max_size=12), max_size=3),
    header_id=st.none() | _ids,
    query_id=st.none() | _ids,
)
def test_the_stream_answers_hello_or_a_json_error(
    api: ServerProcess, categories: list[str], header_id: str | None, query_id: str | None
) -> None:
    """Any query and Last-Event-ID: a documented status; on 200 the media type of the
    document and a `hello` whose id is a valid id of ours (never the client's garbage)."""
    params: list[tuple[str, str]] = [("category", c) for c in categories]
    if query_id is not None:
        params.append(("last_event_id", query_id))
    headers = {} if header_id is None else {"Last-Event-ID": header_id.strip().encode("latin-1")}
    with httpx.stream(
        "GET", f"{api.url}/api/stream", params=params, headers=headers, timeout=10
    ) as response:
        assert response.status_code in (200, 404, 503), (response.status_code, response.read())
        content_type = response.headers["content-type"]
        if response.status_code != 200:
            assert content_type.startswith("application/json")
            assert json.loads(response.read())["detail"]
            return
        assert content_type.startswith("text/event-stream")
        text = ""
        for chunk in response.iter_text():
            text += chunk
            if "event: hello" in text and text.endswith("\n\n"):
                break
    block = text.split("event: hello", 1)[0].rsplit("\n\n", 1)[-1]
    hello_id = int(block.removeprefix("id: ").strip())
    assert 0 <= hello_id <= MAX_ID
    data = text.split("event: hello\ndata: ", 1)[1].split("\n", 1)[0]
    assert isinstance(json.loads(data)["last_id"], int)


_FEVER_NAMES = st.sampled_from([
    "api", "groups", "feeds", "favicons", "items", "links", "unread_item_ids",
    "saved_item_ids", "mark", "as", "id", "before", "since_id", "max_id", "with_ids",
])  # fmt: skip
_FEVER_VALUES = st.text(max_size=20) | st.sampled_from([
    "", "0", "1", "-1", "read", "saved", "item", "group", "feed", "1,2", str(MAX_ID),
    str(2**64), "9" * 40,
])  # fmt: skip


@pytest.fixture(scope="module")
def fever_key(api: ServerProcess) -> str:
    password = "fuzz fuzz fuzz"
    with api.admin() as admin:
        r = admin.post("/api/admin/users", json={"name": "fuzz", "password": password})
        assert r.status_code in (201, 409), r.text
    return hashlib.md5(f"fuzz:{password}".encode()).hexdigest()


@pytest.mark.slow
@_fuzz_settings()
@given(
    query=st.lists(st.tuples(_FEVER_NAMES, _FEVER_VALUES), max_size=5),
    form=st.lists(st.tuples(_FEVER_NAMES, _FEVER_VALUES), max_size=5),
)
def test_fever_answers_json_and_never_a_5xx(
    api: ServerProcess, fever_key: str, query: list[tuple[str, str]], form: list[tuple[str, str]]
) -> None:
    """The Fever API (not in the OpenAPI document: one URL, the query names the call): any
    parameters with a valid key give Fever's JSON or a JSON error, never a 5xx."""
    r = httpx.post(
        f"{api.url}/api/fever.php", params=[("api", ""), *query],
        data={"api_key": fever_key, **dict(form)}, timeout=10,
    )  # fmt: skip
    assert r.status_code in (200, 413, 422, 429), (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["auth"] == 1 if r.status_code == 200 else body["detail"]


def test_the_document_lists_errors_security_and_media_types(api: ServerProcess) -> None:
    document = httpx.get(f"{api.url}/schema/openapi.json", timeout=10).json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    paths = document["paths"]
    assert "text/event-stream" in paths["/api/stream"]["get"]["responses"]["200"]["content"]
    assert "application/atom+xml" in next(
        iter(paths["/all/atom.xml"]["get"]["responses"]["200"]["content"])
    )
    admin_ops = [
        (path, method, op)
        for path, item in paths.items()
        if path.startswith("/api/admin")
        for method, op in item.items()
    ]
    assert admin_ops
    for path, method, op in admin_ops:
        assert op["security"] == [{"bearer": []}], (method, path)
        assert "401" in op["responses"], (method, path)
    statuses = {code for _, _, op in admin_ops for code in op["responses"]}
    assert {"401", "404", "409", "422"} <= statuses


_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


@pytest.fixture(scope="module")
def icon_feed(api: ServerProcess) -> int:
    """A feed with a stored icon, written straight into the server's database (the fuzz
    server refuses every feed URL a test could serve: private networks are off)."""
    import sqlite3

    with sqlite3.connect(api.db_path) as db:
        category = db.execute("SELECT id FROM category WHERE slug = 'tech'").fetchone()[0]
        feed_id = db.execute(
            "INSERT INTO feed (url, title, category_id, created_at) "
            "VALUES ('https://icons.example/feed', 'Icons', ?, '2026-12-01 00:00:00')",
            (category,),
        ).lastrowid
        db.execute(
            "INSERT INTO feed_icon (feed_id, content_type, data, sha256, fetched_at) "
            "VALUES (?, 'image/png', ?, ?, '2026-12-01 00:00:00')",
            (feed_id, _PNG, hashlib.sha256(_PNG).hexdigest()),
        )
    assert feed_id is not None
    return feed_id


@pytest.mark.slow
@_fuzz_settings()
@given(feed=st.none() | _ids, etag=st.none() | _ids)
def test_icons_answer_an_image_or_a_json_error(
    api: ServerProcess, icon_feed: int, feed: str | None, etag: str | None
) -> None:
    """`/icons/feeds/{id}` with any id and any If-None-Match: the icon (or a 304), or a
    JSON error; never a 5xx, never an image without nosniff. (An id that is no path
    segment, `1%2F2`, is Litestar's unmatched-route 404: JSON, answered before any
    middleware, so without the security headers.)"""
    path = f"/icons/feeds/{icon_feed if feed is None else quote(feed, safe='')}"
    headers = {} if etag is None else {"If-None-Match": etag.strip().encode("latin-1")}
    try:
        r = httpx.get(f"{api.url}{path}", headers=headers, timeout=10)
    except httpx.InvalidURL:
        return  # a path httpx itself cannot send
    assert r.status_code in (200, 304, 400, 404), (path, r.status_code, r.text)
    if r.status_code == 200:
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["content-type"] in ("image/png", "image/svg+xml"), path
        assert r.headers["etag"].startswith('"')
    elif r.status_code != 304:
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["detail"]
    if feed is None and etag is None:
        assert r.status_code == 200 and r.content == _PNG
