"""Evidence: what the store knows about an incident, captured into plain snapshot dicts.

One module per kind of snapshot (propagation, blast, change, alerts, similar), each with
a capture function that reads the store and a pure part that shapes the snapshot;
`capture.py` composes them for the engine, `items.py` flattens snapshots into the
incident's `evidence[]` list, `story.py` tells one request's story.
"""
