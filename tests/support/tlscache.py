"""One default TLS context per test process for the suite's own HTTP clients.

httpx builds a TLS context for every client it makes, loading certifi's roots each time
(tens of milliseconds of CPU), and `httpx.get` makes a client per call: the helpers that
wait for a server to answer /healthz, and every one-off request of the tests, spent about a
tenth of the suite's Python CPU there. The tests' clients speak plain HTTP to loopback, so
they can share one context; feedhub's own fetcher builds its context itself
(`feedhub.ingest.guard`) and is not affected. Only the default call (verify=True, no
client certificate) is shared; any other is built as httpx builds it.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx

# Private to httpx: the name its transports call. The test lock pins httpx.
import httpx._transports.default as _transports

__all__ = ["share_default_tls_context"]

_build = httpx.create_ssl_context


@functools.cache
def _default_context() -> ssl.SSLContext:
    return _build()


def _create_ssl_context(
    verify: ssl.SSLContext | str | bool = True, cert: Any = None, trust_env: bool = True
) -> ssl.SSLContext:
    if verify is True and cert is None and trust_env:
        return _default_context()
    return _build(verify=verify, cert=cert, trust_env=trust_env)


def share_default_tls_context() -> None:
    _transports.create_ssl_context = _create_ssl_context
