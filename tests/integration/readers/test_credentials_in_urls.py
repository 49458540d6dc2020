"""Credentials travel in POST bodies only, and no URL is logged with a secret in it: with
the access log on, a password or a feed key in a query string was written to the log."""

from __future__ import annotations

import httpx

from tests.support.server import ServerProcess

SECRET_PASSWORD = "pw-in-the-url-1234"
SECRET_KEY = "feed-key-in-the-url-5678"


def test_client_login_refuses_the_url_and_the_log_keeps_no_secret(
    server_factory: type[ServerProcess],
) -> None:
    env = {"FEEDHUB_SCHEDULER": "off", "FEEDHUB_ACCESS_LOG": "true", "FEEDHUB_READING": "private"}
    server = server_factory(env=env).start()
    with server.admin() as admin:
        r = admin.post("/api/admin/users", json={"name": "ann", "password": SECRET_PASSWORD})
        assert r.status_code == 201, r.text
    with httpx.Client(base_url=server.url, timeout=30) as client:
        query = {"Email": "ann", "Passwd": SECRET_PASSWORD}
        assert client.get("/accounts/ClientLogin", params=query).status_code == 405
        r = client.post("/accounts/ClientLogin", params=query)
        assert 400 <= r.status_code < 500 and "Auth=" not in r.text
        assert client.post("/accounts/ClientLogin", data=query).status_code == 200
        client.get("/atom.xml", params={"key": SECRET_KEY})
        client.get("/feed.json", params={"KEY": SECRET_KEY, "n": "1"})
    log = server.log()
    assert "/accounts/ClientLogin?Email=ann&Passwd=***" in log  # the lines are there
    assert SECRET_PASSWORD not in log and SECRET_KEY not in log
