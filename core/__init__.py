"""Cross-cutting service plumbing: configuration, database, security, logging, errors."""
