"""feedhub: a self-hosted, real-time news aggregator."""
