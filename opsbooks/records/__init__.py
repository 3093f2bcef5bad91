"""Layer 3: what a run leaves behind (events, redaction, metrics, audit, the journal)."""
