"""The live path: bus doorbells in, Server-Sent Events out.

- `bus`: the doorbell transport between processes (one backend per URL scheme);
- `hub`: this process's fan-out, from one doorbell to every matching open stream;
- `sse`: the one place that writes Server-Sent Events text;
- `stream`: `GET /api/stream`, one `Connection` per open stream.
"""
