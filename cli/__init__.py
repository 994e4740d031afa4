"""The `posyandu-sync` command line."""
