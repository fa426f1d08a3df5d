"""Parse, validate and write what senders send. Nothing here knows about Flask."""
