"""The SDK's own failures: swallowed and logged, never raised into the host app.

Every piece of SDK bookkeeping that runs on the app's threads sits behind
`capture_internal_exceptions()` (or a try/except that calls
`capture_internal_exception`). The SDK's test suite replaces `capture_internal_exception`
with one that re-raises, so SDK bugs stay loud in tests while production stays quiet.
"""

from __future__ import annotations

import logging
from types import TracebackType

logger = logging.getLogger("onset_sdk")


def capture_internal_exception(exc_info: tuple) -> None:
    """Record an SDK bug. Production: log it at debug level and carry on."""
    logger.debug("onset_sdk internal error (swallowed)", exc_info=exc_info)


class _CaptureInternalExceptions:
    """A reusable context manager (cheaper than a generator one on the request path)."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if exc_type is not None and issubclass(exc_type, Exception):
            # A module global looked up at call time: a test can swap it for one that re-raises.
            capture_internal_exception((exc_type, exc, tb))
            return True
        return False


_CAPTURE = _CaptureInternalExceptions()


def capture_internal_exceptions() -> _CaptureInternalExceptions:
    """`with capture_internal_exceptions(): ...` swallows (and reports) any Exception inside."""
    return _CAPTURE
