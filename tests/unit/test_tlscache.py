"""The suite's HTTP clients share one default TLS context; other settings get their own."""

from __future__ import annotations

import ssl

import httpx


def _context(client: httpx.Client) -> ssl.SSLContext:
    return client._transport._pool._ssl_context


def test_default_clients_share_one_context_and_others_do_not() -> None:
    with httpx.Client() as one, httpx.Client() as two, httpx.Client(verify=False) as unverified:
        assert _context(one) is _context(two)
        assert _context(one).verify_mode == ssl.CERT_REQUIRED and _context(one).check_hostname
        assert _context(unverified) is not _context(one)
        assert _context(unverified).verify_mode == ssl.CERT_NONE
