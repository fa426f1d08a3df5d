"""Numbered schema migrations; applied by `server.store.migrate`."""
