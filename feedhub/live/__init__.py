"""Live delivery: the bus between processes, the hub that fans out, the SSE stream."""
