"""A Google Reader client library written by others (`libgreader` from PyPI) against a
real `feedhub serve`: ClientLogin, the subscription list, the reading list, marking read
and starred, and a podcast episode's enclosure.

libgreader's URLs are class attributes pointing at google.com (`libgreader.url.ReaderUrl`,
`ClientAuthMethod.CLIENT_URL`); a user points them at their server, and so does this test.
They are derived from each other when the class is made, so each one is set.
"""

from __future__ import annotations

import httpx
import pytest
from libgreader import ClientAuthMethod, GoogleReader
from libgreader.url import ReaderUrl

from tests.integration.readers.helpers import serve_a_podcast
from tests.support.feedserver import FeedServer
from tests.support.server import ServerProcess

PASSWORD = "greader client pass"
MP3 = "http://127.0.0.1:1/show/episode-2.mp3"


def _point_at(monkeypatch: pytest.MonkeyPatch, base: str) -> None:
    api = f"{base}/reader/api/0/"
    content = api + ReaderUrl.CONTENT_PART_URL
    urls = {
        "READER_BASE_URL": f"{base}/reader/api", "API_URL": api,
        "ACTION_TOKEN_URL": api + "token", "USER_INFO_URL": api + "user-info",
        "SUBSCRIPTION_LIST_URL": api + "subscription/list",
        "SUBSCRIPTION_EDIT_URL": api + "subscription/edit",
        "UNREAD_COUNT_URL": api + "unread-count", "CONTENT_BASE_URL": content,
        "FEED_URL": content, "CATEGORY_URL": content + "user/-/label/",
        "EDIT_TAG_URL": api + "edit-tag", "MARK_ALL_READ_URL": api + "mark-all-as-read",
    }  # fmt: skip
    for name, value in urls.items():
        monkeypatch.setattr(ReaderUrl, name, value)
    monkeypatch.setattr(ClientAuthMethod, "CLIENT_URL", f"{base}/accounts/ClientLogin")


def test_libgreader_syncs_marks_and_reads_an_enclosure(
    server_factory: type[ServerProcess], feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, feed = serve_a_podcast(server_factory, feed_server, PASSWORD, MP3)
    _point_at(monkeypatch, server.url)

    reader = GoogleReader(ClientAuthMethod("ann", PASSWORD))  # ClientLogin, then the token
    assert reader.buildSubscriptionList()
    assert reader.getUserInfo()["userName"] == "ann"
    [show] = reader.getSubscriptionList()
    assert (show.id, show.title, show.unread) == (f"feed/{feed['id']}", "The Show", 2)
    assert [c.label for c in reader.getCategories()] == ["Podcasts"]

    reader.makeSpecialFeeds()  # the library's reading list, starred, read…
    reading_list = reader.getSpecialFeed(ReaderUrl.READING_LIST)
    reading_list.loadItems()
    items = {item.title: item for item in reading_list.getItems()}
    assert set(items) == {"Episode 1", "Episode 2"}
    episode = items["Episode 2"]
    assert episode.url == "http://e.com/2" and not episode.isRead()
    [enclosure] = episode.data["enclosure"]
    assert enclosure["href"] == MP3 and enclosure["type"] == "audio/mpeg"
    assert f'src="{MP3}"' in episode.content  # the player, as FreshRSS appends it

    assert episode.markRead()
    assert items["Episode 1"].star()
    show.loadItems(excludeRead=True)
    assert [i.title for i in show.getItems()] == ["Episode 1"]
    starred = reader.getSpecialFeed(ReaderUrl.STARRED_LIST)
    starred.loadItems()
    assert [(i.title, i.isStarred()) for i in starred.getItems()] == [("Episode 1", True)]
    assert reader.markFeedAsRead(show).upper() == "OK"
    assert reader.buildSubscriptionList()
    assert reader.getSubscriptionList()[0].unread == 0

    # The same state through the readers' own API.
    login = httpx.post(
        f"{server.url}/accounts/ClientLogin", data={"Email": "ann", "Passwd": PASSWORD}
    )
    auth = {"Authorization": "GoogleLogin auth=" + login.text.split("Auth=")[1].split()[0]}
    assert httpx.get(f"{server.url}/api/me/unread", headers=auth).json()["total"] == 0
