"""All SQL of the domain, one module per aggregate.

`sync/` modules ask these functions for rows and hand them values; how a statement is
run (a prebuilt `core.statements.Prepared`, queued with `defer` and sent with the next
statement that must see it, pipelined on PostgreSQL, or an ordinary `Session.execute`)
is this layer's detail, never the caller's. Rows come back as dicts or named tuples.
"""
