"""Notifications: every incident and health alert state change, delivered once per channel.

The pipeline, stage by stage (each stage one module, composed in `hook.py` and `worker.py`):

    tick ──> events.py   state changes in the tick's writes -> notices            (pure)
         ──> routing.py  notice x channel rules -> which channels, and why          (pure)
         ──> outbox.py   notice x channel -> outbox row with its dedupe key         (pure)
         ──> store.notifications.enqueue, in the tick's own transaction
    worker.py  claim a due row (committed) ──> content.py (report / health alert)
         ──> channels/<type>.py builds the request ──> send.py (HTTP)
         ──> retry.py   status -> done / retry / give up, with a named reason; backoff
         ──> store.notifications.record_attempt
"""
