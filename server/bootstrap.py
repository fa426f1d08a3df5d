"""What happens once before a server starts: migrations, and the first admin key."""

from __future__ import annotations

import logging
import sys

from server.config import Settings
from server.store import keys, migrate
from server.store.db import close_database, open_database

log = logging.getLogger("onset")


def prepare(settings: Settings, out=sys.stderr) -> str | None:
    """Apply migrations and, when no key exists, create the admin key (printed once).

    Returns the new admin key when one was created. Closes the connection afterwards so
    that forked workers open their own.
    """
    open_database(settings.resolved_database_url, synchronous=settings.sqlite_synchronous)
    try:
        applied = migrate.migrate()
        for m in applied:
            log.info("applied migration %04d_%s", m.version, m.name)
        created = None
        if keys.count_live_keys() == 0:
            given = settings.bootstrap_key
            created, _ = keys.create_key("bootstrap-admin", ("admin",), given)
            if given is None:
                print("=" * 72, file=out)
                print("Onset created an admin API key. It is shown only this once:", file=out)
                print(f"    {created}", file=out)
                print("Create narrower keys with: onset keys create --scope ingest --name NAME", file=out)
                print("=" * 72, file=out)
            else:
                print("Onset stored ONSET_BOOTSTRAP_KEY as the admin key.", file=out)
        if settings.bootstrap_key:
            problem = keys.weakness(settings.bootstrap_key)
            if problem:
                print(f"WARNING: ONSET_BOOTSTRAP_KEY looks like a placeholder ({problem}); "
                      "anyone who guesses it is admin. Use a random key of 32+ characters.", file=out)
        return created
    finally:
        close_database()
