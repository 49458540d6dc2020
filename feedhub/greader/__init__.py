"""The Google Reader API: the protocol FreshRSS and Miniflux serve to apps.

`protocol` is pure (ids, stream ids, parameters, item JSON); `atom` renders the Atom form
of a stream; `controllers` are the thin Litestar routes under `/reader/api/0/`,
`/reader/atom/` and `/accounts/ClientLogin`. What is supported: docs/apps.md.
"""
