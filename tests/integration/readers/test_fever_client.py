"""A Fever client written by others (`freshrss-api` from PyPI) against a real
`feedhub serve`: it signs in with its api_key, syncs groups, feeds and unread items, marks
one read and one saved, and reads a podcast episode's player from the item's html."""

from __future__ import annotations

import httpx
from freshrss_api import FreshRSSAPI

from tests.integration.readers.helpers import serve_a_podcast
from tests.support.feedserver import FeedServer
from tests.support.server import ServerProcess

PASSWORD = "fever client pass"
MP3 = "http://127.0.0.1:1/show/episode-2.mp3"


def test_freshrss_api_library_syncs_marks_and_reads_an_enclosure(
    server_factory: type[ServerProcess], feed_server: FeedServer
) -> None:
    server, feed = serve_a_podcast(server_factory, feed_server, PASSWORD, MP3)

    client = FreshRSSAPI(host=server.url, username="ann", password=PASSWORD)  # checks auth
    groups = client.get_groups()
    assert [g["title"] for g in groups["groups"]] == ["Podcasts"]
    feeds = client.get_feeds()["feeds"]
    assert [(f["id"], f["title"]) for f in feeds] == [(feed["id"], "The Show")]

    unread = {item.title: item for item in client.get_unreads()}
    assert set(unread) == {"Episode 1", "Episode 2"}
    episode = unread["Episode 2"]
    assert f'<audio controls preload="none" src="{MP3}">' in episode.html

    client.set_mark("read", episode.id)
    client.set_mark("saved", unread["Episode 1"].id)
    assert [i.title for i in client.get_unreads()] == ["Episode 1"]
    assert [i.title for i in client.get_saved()] == ["Episode 1"]
    client.set_mark("unsaved", unread["Episode 1"].id)
    assert client.get_saved() == []

    # the same state through the Google Reader API
    login = httpx.post(
        f"{server.url}/accounts/ClientLogin", data={"Email": "ann", "Passwd": PASSWORD}
    )
    auth = {"Authorization": "GoogleLogin auth=" + login.text.split("Auth=")[1].split()[0]}
    refs = httpx.get(
        f"{server.url}/reader/api/0/stream/items/ids", headers=auth,
        params={"s": "user/-/state/com.google/read"},
    ).json()["itemRefs"]  # fmt: skip
    assert [int(r["id"]) for r in refs] == [episode.id]
