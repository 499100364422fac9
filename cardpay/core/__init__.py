"""Platform pieces that know no domain: clock, ids, database helpers, errors, events, redaction, logs,
client address, outbound POSTs, worker threads, throttles, the extensions and the CLI group."""
