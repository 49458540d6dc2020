"""A Fever client written by others (`freshrss-api` from PyPI) against a real
`feedhub serve`: it signs in with its api_key, syncs groups, feeds and unread items, marks
one read and one saved, and reads a podcast episode's player from the item's html."""

from __future__ import annotations

import httpx
from freshrss_api import FreshRSSAPI

from tests.support.feedserver import FeedServer, rss
from tests.support.server import ServerProcess

PASSWORD = "fever client pass"
MP3 = "http://127.0.0.1:1/show/episode-2.mp3"


def test_freshrss_api_library_syncs_marks_and_reads_an_enclosure(
    server_factory: type[ServerProcess], feed_server: FeedServer
) -> None:
    feed_server.set("/show.xml", rss([
        {"guid": "e1", "title": "Episode 1", "link": "http://e.com/1",
         "pubDate": "Mon, 02 Nov 2026 10:00:00 GMT"},
        {"guid": "e2", "title": "Episode 2", "link": "http://e.com/2",
         "pubDate": "Tue, 03 Nov 2026 10:00:00 GMT",
         "enclosure": f'<enclosure url="{MP3}" length="89990767" type="audio/mpeg"/>'},
    ], title="The Show"))  # fmt: skip
    server = server_factory(env={"FEEDHUB_SCHEDULER": "off"}).start()
    server.add_category("Podcasts", "podcasts")
    feed = server.add_feed(feed_server.url("/show.xml"), "podcasts")
    assert server.refresh(feed["id"])["new_articles"] == 2
    with server.admin() as admin:
        r = admin.post("/api/admin/users", json={"name": "ann", "password": PASSWORD})
        assert r.status_code == 201, r.text

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
