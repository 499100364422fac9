"""GET /metrics: Prometheus exposition (filled in by the monitoring issue)."""
