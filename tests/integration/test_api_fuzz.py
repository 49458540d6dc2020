"""A property-based API fuzzer in the suite (Schemathesis over the OpenAPI
document), so the 500s of the hardening rounds stay fixed.

Every route of `/schema/openapi.json` is called with generated requests, valid and invalid
(schemathesis' positive and negative modes), with the admin token, against a real
`feedhub serve`. A failure is any 5xx, a status or media type the document does not list,
a body that breaks its schema, or invalid input accepted. The stream (infinite, so not
callable by Schemathesis' client) gets its own property: its headers and first event.

The same again signed in as a reader (session cookie and CSRF header) over the routes the
admin token is refused on (`/api/me/*`); and, outside the document's shapes, the Google
Reader API with an app's token and Fever with its key, with ids and date-times drawn from
the edges that once answered 500 (Unicode digits, numbers past 64 bits, the long hex form,
control characters; zone-less times, offsets past year 1 or 9999, five-digit years): never
a 5xx, and a 4xx always says why (JSON `detail`, or the protocol's own error text).

Bounded: `FUZZ_EXAMPLES` examples per route and mode, fixed seed, no example database, so
the run is repeatable and takes seconds (FEEDHUB_FUZZ_EXAMPLES raises it for a long hunt).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
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

from feedhub.greader import protocol
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
@pytest.mark.long
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


# -- signed in: a reader over /api/me, an app over the Google Reader API --------------------------
READER_PASSWORD = "reader reader reader"


@pytest.fixture(scope="module")
def reader(api: ServerProcess) -> Iterator[httpx.Client]:
    """A client signed in as a reader: its session cookie, and the CSRF header every change
    needs. Signs in again when a fuzzed request ended its session (a revoke of its own id)."""
    with api.admin() as admin:
        r = admin.post("/api/admin/users", json={"name": "ann", "password": READER_PASSWORD})
        assert r.status_code in (201, 409), r.text
    client = httpx.Client(base_url=api.url, timeout=15)
    _sign_in_reader(client)
    try:
        yield client
    finally:
        client.close()


def _sign_in_reader(client: httpx.Client) -> None:
    client.cookies.clear()
    r = client.post("/api/session", json={"name": "ann", "password": READER_PASSWORD})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]


def _reader_headers(client: httpx.Client) -> dict[str, str]:
    if client.get("/api/me/sessions").status_code == 401:
        _sign_in_reader(client)
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    return {"Cookie": cookie, "X-CSRF-Token": client.headers["X-CSRF-Token"]}


@pytest.mark.slow
def test_a_reader_s_routes_answer_within_their_documented_contract(
    api: ServerProcess, reader: httpx.Client
) -> None:
    """The routes the admin token is refused on (`/api/me/*`, sign-in and sign-out), as a
    signed-in reader with the CSRF header: schemathesis' checks, as above."""
    schema = schemathesis.openapi.from_url(f"{api.url}/schema/openapi.json")
    failures: list[str] = []
    called = 0
    headers: dict[str, str] = {}  # the session's, renewed before each run
    for operation in (op.ok() for op in schema.get_all_operations()):
        if not operation.path.startswith(("/api/me", "/api/session")):
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            headers.update(_reader_headers(reader))

            @_fuzz_settings()
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                case.call_and_validate(
                    base_url=api.url, headers=headers, timeout=15, excluded_checks=EXCLUDED
                )

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.path
                continue
            except Exception as exc:
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
            called += 1
    assert called >= 12, f"too few operations fuzzed: {called}"
    assert not failures, "\n\n".join(failures)


# Date-times at the edges: zone-less, offsets that move a time out of years 1..9999, years of
# five digits and more, impossible fields, and what is no date-time at all.
DATE_TIME_EDGES = [
    "2026-11-01T10:00:00", "2026-11-01", "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:30:00+23:59", "9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59.999999-23:59",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z",
    "10000-01-01T00:00:00Z", "+275760-09-13T00:00:00Z", "99999999999-01-01T00:00:00Z",
    "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z",
    "2026-01-01T00:00:60Z", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+99:99",
    "2026-01-01T00:00:00\x00Z", "²⁰²⁶-01-01T00:00:00Z", "", " ", "now", "-1", "1e308",
]  # fmt: skip
_fixed_offsets = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23, minutes=-59),
                            max_value=timedelta(hours=23, minutes=59)),
)  # fmt: skip
_date_times = st.one_of(
    st.sampled_from(DATE_TIME_EDGES),
    st.datetimes(timezones=st.none() | _fixed_offsets).map(lambda d: d.isoformat()),
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(1, 1, 2), timezones=_fixed_offsets
    ).map(lambda d: d.isoformat()),
    st.datetimes(
        min_value=datetime(9999, 12, 31), max_value=datetime(9999, 12, 31, 23, 59, 59),
        timezones=_fixed_offsets,
    ).map(lambda d: d.isoformat()),
    st.text(max_size=30),
)  # fmt: skip
# Ids as apps and attackers write them: superscript and other Unicode digits, numbers past
# 64 bits, negative, the long hex form (too long, empty, not hex), control characters.
ID_EDGES = [
    "²", "٣", "1²", "99999999999999999999999", str(2**63), str(2**64), "-1", "-0", "+1",
    "1_0", "0x10", " 7", "7 ", "1e3", "", "\x00", "1\x01", "\x7f", "0",
    "tag:google.com,2005:reader/item/", "tag:google.com,2005:reader/item/ffffffffffffffff",
    "tag:google.com,2005:reader/item/7fffffffffffffff", "tag:google.com,2005:reader/item/-1",
    "tag:google.com,2005:reader/item/10000000000000000", "tag:google.com,2005:reader/item/xyz",
    "tag:google.com,2005:reader/item/²", "tag:google.com,2005:reader/item/000000000000001\x01",
]  # fmt: skip
_item_ids = st.one_of(
    st.sampled_from(ID_EDGES),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=0, max_value=2**70).map(lambda n: f"{protocol.ITEM_PREFIX}{n:016x}"),
    st.text(max_size=24),
)
_streams = st.one_of(
    st.tuples(
        st.sampled_from(["feed/", "user/-/label/", "user/-/state/com.google/", "user/1/label/",
                         "user/-/state/com.google/reading-list", "splice/", ""]),
        st.one_of(_item_ids, st.sampled_from(["http://127.0.0.1:1/x", "https://[::1]/x//y"])),
    ).map("".join),
    st.sampled_from([protocol.READING_LIST, protocol.STARRED, protocol.READ, "feed/1"]),
)  # fmt: skip
_NUMBERS = st.one_of(_item_ids, st.integers(min_value=-(2**70), max_value=2**70).map(str))
_GREADER_PARAMS: dict[str, Any] = {
    "s": _streams, "c": _NUMBERS, "n": _NUMBERS, "r": st.sampled_from(["o", "n", "", "\x00"]),
    "ot": _NUMBERS, "nt": _NUMBERS, "ts": _NUMBERS, "xt": _streams, "it": _streams,
    "i": _item_ids, "a": _streams, "ac": st.sampled_from(["edit", "unsubscribe", "x"]),
    "t": st.text(max_size=20), "dest": _streams, "output": st.sampled_from(["json", "xml", ""]),
}  # fmt: skip
# (method, path) of the Google Reader routes and the parameters each reads; quickadd and
# subscribe are left out (a reader may not add feeds, and a fetch would be attempted).
_GREADER_ROUTES = [
    ("GET", "/reader/api/0/stream/contents", "s n c r ot nt xt it"),
    ("GET", "/reader/api/0/stream/items/ids", "s n c r ot nt xt it"),
    ("POST", "/reader/api/0/stream/items/contents", "i"),
    ("POST", "/reader/api/0/edit-tag", "i a r"),
    ("POST", "/reader/api/0/mark-all-as-read", "s ts"),
    ("GET", "/reader/api/0/unread-count", "output"),
    ("GET", "/reader/api/0/tag/list", "output"),
    ("GET", "/reader/api/0/subscription/list", "output"),
    ("POST", "/reader/api/0/subscription/edit", "ac s t a r"),
    ("POST", "/reader/api/0/rename-tag", "s t dest"),
    ("POST", "/reader/api/0/disable-tag", "s t"),
]


@pytest.fixture(scope="module")
def app(api: ServerProcess, reader: httpx.Client) -> Iterator[httpx.Client]:
    """A client with a Google Reader token (`Authorization: GoogleLogin auth=…`), one
    kept-alive connection for all the calls."""
    r = httpx.post(
        f"{api.url}/accounts/ClientLogin",
        data={"Email": "ann", "Passwd": READER_PASSWORD}, timeout=15,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    auth = dict(line.split("=", 1) for line in r.text.splitlines())["Auth"]
    headers = {"Authorization": f"GoogleLogin auth={auth}"}
    with httpx.Client(base_url=api.url, headers=headers, timeout=15) as client:
        assert client.get("/reader/api/0/user-info").status_code == 200
        yield client


def _assert_greader_contract(r: httpx.Response) -> None:
    """Never a 5xx; a 4xx says why: JSON with a `detail`, or the protocol's own text
    (`Unauthorized…` with X-Reader-Google-Bad-Token, `Error=…`)."""
    assert r.status_code < 500, (r.status_code, r.request.url, r.text[:500])
    if r.status_code >= 400:
        if r.headers.get("content-type", "").startswith("application/json"):
            assert r.json()["detail"], r.text
        else:
            assert r.status_code == 401 and r.text.strip(), (r.status_code, r.text[:500])


def _call_greader(
    app: httpx.Client, method: str, path: str, params: list[tuple[str, str]]
) -> httpx.Response:
    if method == "GET":
        return app.get(path, params=params)
    return app.post(path, data=dict(params))


@pytest.mark.slow
@settings(_fuzz_settings(), max_examples=FUZZ_EXAMPLES * 5)
@given(data=st.data())
def test_google_reader_answers_within_its_protocol_and_never_a_5xx(
    app: httpx.Client, data: st.DataObject
) -> None:
    """Any of its routes with any of their parameters, drawn from the edges as well: never a
    5xx, a 4xx in JSON or the protocol's text (several routes per example: 60 calls)."""
    method, path, names = data.draw(st.sampled_from(_GREADER_ROUTES))
    chosen = data.draw(st.lists(st.sampled_from(names.split()), max_size=4))
    params = [(name, data.draw(_GREADER_PARAMS[name])) for name in chosen]
    _assert_greader_contract(_call_greader(app, method, path, params))


@pytest.mark.slow
def test_google_reader_and_fever_ids_at_the_edges(app: httpx.Client) -> None:
    """Each edge id wherever an id goes: an item id, a continuation, a count, a time, a feed
    stream (in `s` and in both path forms, percent-encoded), Fever's `with_ids`."""
    fever_key = hashlib.md5(f"ann:{READER_PASSWORD}".encode()).hexdigest()
    for value in ID_EDGES:
        _ids_at_the_edge(app, value, fever_key)
    assert app.get("/reader/api/0/user-info").status_code == 200  # signed in all along


def _ids_at_the_edge(app: httpx.Client, value: str, fever_key: str) -> None:
    calls = [
        ("POST", "/reader/api/0/stream/items/contents", [("i", value)]),
        ("POST", "/reader/api/0/edit-tag", [("i", value), ("a", protocol.STARRED)]),
        ("GET", "/reader/api/0/stream/contents", [("s", f"feed/{value}"), ("c", value)]),
        ("GET", "/reader/api/0/stream/items/ids", [("s", f"feed/{value}"), ("n", value)]),
        ("GET", "/reader/api/0/stream/contents", [("ot", value), ("nt", value)]),
        ("POST", "/reader/api/0/mark-all-as-read", [("s", f"feed/{value}"), ("ts", value)]),
        ("GET", f"/reader/api/0/stream/contents/{quote('feed/' + value, safe='')}", []),
        ("GET", f"/reader/atom/{quote('feed/' + value, safe='')}", [("c", value)]),
        ("GET", f"/reader/atom/{quote(protocol.LABEL_PREFIX + value, safe='/')}", []),
    ]
    for method, path, params in calls:
        _assert_greader_contract(_call_greader(app, method, path, params))
    for name in ("with_ids", "since_id", "max_id"):
        fever = app.post(
            "/api/fever.php",
            params=[("api", ""), ("items", ""), (name, value)],
            data={"api_key": fever_key},
            headers={"Authorization": ""},
        )
        assert fever.status_code in (200, 422), (name, value, fever.status_code, fever.text)
        assert fever.json()["auth"] == 1 if fever.status_code == 200 else fever.json()["detail"]


@pytest.mark.slow
def test_mark_all_read_with_date_times_at_the_edges(reader: httpx.Client) -> None:
    headers = _reader_headers(reader)
    for before in DATE_TIME_EDGES:
        r = reader.post("/api/me/mark-all-read", json={"before": before}, headers=headers)
        assert r.status_code in (200, 400, 422), (before, r.status_code, r.text)
        assert r.json()["upto_id" if r.status_code == 200 else "detail"] is not None


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


@_fuzz_settings()
@given(before=_date_times, category=st.none() | st.text(max_size=8))
def test_mark_all_read_with_generated_date_times(
    reader: httpx.Client, before: str, category: str | None
) -> None:
    body: dict[str, Any] = {"before": before}
    if category is not None:
        body["category"] = category
    r = reader.post("/api/me/mark-all-read", json=body, headers=_reader_headers(reader))
    assert r.status_code in (200, 400, 404, 422), (r.status_code, r.text)
    assert r.json()["upto_id" if r.status_code == 200 else "detail"] is not None
