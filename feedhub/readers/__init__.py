"""Readers on the server: accounts, sessions, sign-in limits, read/starred state.

Services only: no Litestar here. The HTTP side is `feedhub.api.me`, `feedhub.api.users`,
`feedhub.api.identity` (who is asking, CSRF, private mode) and `feedhub.greader`.
"""
