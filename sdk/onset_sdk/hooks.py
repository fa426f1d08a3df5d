"""Runtime hooks: crashes reported as `runtime` signals, the process's own behaviour unchanged.

`install()` chains `sys.excepthook` and `threading.excepthook` (the previous hook still
runs, so tracebacks print and an uncaught exception still ends the process) and wraps
asyncio's `call_exception_handler` (the loop's own handler still runs). `safe_thread`
and `safe_call` report without any global hook and re-raise. One exception is reported
once however many of these see it, and the same crash from the same place at most once
per `RATE_SECONDS` (a crash loop must not flood the server; the count rides along).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from onset_sdk import client as client_module
from onset_sdk.event import error_code_of
from onset_sdk.internal import capture_internal_exceptions
from onset_sdk.signals import runtime_payload, signal

RATE_SECONDS = 10.0
_REPORTED = "__onset_reported__"

_previous: dict[str, Any] = {}
_recent: dict[tuple[str, str], tuple[float, int]] = {}
_recent_lock = threading.Lock()


def report_crash(exc: BaseException, hook: str, where: str | None = None) -> bool:
    """Send a runtime signal for `exc` unless it was reported already or too recently."""
    client = client_module._client
    if client is None or isinstance(exc, KeyboardInterrupt | SystemExit) or getattr(exc, _REPORTED, False):
        return False
    with contextlib.suppress(AttributeError, TypeError):
        setattr(exc, _REPORTED, True)
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    place = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else ""
    key = (error_code_of(exc), place)
    now = time.monotonic()
    with _recent_lock:
        last, suppressed = _recent.get(key, (None, 0))
        if last is not None and now - last < RATE_SECONDS:
            _recent[key] = (last, suppressed + 1)
            return False
        _recent[key] = (now, 0)
    parts = runtime_payload(exc, hook, where, suppressed=suppressed)
    return signal("runtime", reason=parts["reason"], message=parts["message"],
                  attributes=parts["attributes"]) is not None


def _sys_excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    with capture_internal_exceptions():
        report_crash(exc, "sys.excepthook", "main thread")
    _previous.get("sys", sys.__excepthook__)(exc_type, exc, tb)


def _threading_excepthook(args: Any) -> None:
    if args.exc_value is not None:
        with capture_internal_exceptions():
            report_crash(args.exc_value, "threading.excepthook", args.thread.name if args.thread else None)
    _previous.get("threading", threading.__excepthook__)(args)


def _asyncio_call_exception_handler(loop: Any, context: dict[str, Any]) -> Any:
    exc = context.get("exception")
    if isinstance(exc, BaseException):
        with capture_internal_exceptions():
            task = context.get("task") or context.get("future")
            name = task.get_name() if hasattr(task, "get_name") else None
            report_crash(exc, "asyncio", f"task {name}" if name else "asyncio loop")
    return _previous["asyncio"](loop, context)


def install() -> None:
    """Install the hooks once; the previous ones are kept and called."""
    if "sys" in _previous:
        return
    _previous["sys"] = sys.excepthook
    sys.excepthook = _sys_excepthook
    _previous["threading"] = threading.excepthook
    threading.excepthook = _threading_excepthook
    # Every asyncio loop, created before or after init, sends unhandled errors through this method.
    import asyncio.base_events  # only apps that turn the runtime hooks on pay for importing asyncio

    _previous["asyncio"] = asyncio.base_events.BaseEventLoop.call_exception_handler
    asyncio.base_events.BaseEventLoop.call_exception_handler = _asyncio_call_exception_handler


def uninstall() -> None:
    """Put back the hooks that were there before, where nobody replaced ours since."""
    if "sys" not in _previous:
        return
    if sys.excepthook is _sys_excepthook:
        sys.excepthook = _previous["sys"]
    if threading.excepthook is _threading_excepthook:
        threading.excepthook = _previous["threading"]
    import asyncio.base_events  # already imported by install()

    if asyncio.base_events.BaseEventLoop.call_exception_handler is _asyncio_call_exception_handler:
        asyncio.base_events.BaseEventLoop.call_exception_handler = _previous["asyncio"]
    _previous.clear()
    with _recent_lock:
        _recent.clear()


def safe_call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call `fn(*args, **kwargs)`; if it raises, report a runtime signal and re-raise."""
    try:
        return fn(*args, **kwargs)
    except BaseException as exc:
        with capture_internal_exceptions():
            report_crash(exc, "safe_call", getattr(fn, "__qualname__", None) or repr(fn))
        raise


def safe_thread(target: Callable[..., Any], *args: Any, name: str | None = None, daemon: bool | None = None,
                **kwargs: Any) -> threading.Thread:
    """Start a thread running `target(*args, **kwargs)` whose crash is reported as a runtime
    signal; the thread still dies and threading.excepthook still prints it."""

    def run() -> None:
        try:
            target(*args, **kwargs)
        except BaseException as exc:
            with capture_internal_exceptions():
                report_crash(exc, "safe_thread", threading.current_thread().name)
            raise

    thread = threading.Thread(target=run, name=name, daemon=daemon)
    thread.start()
    return thread
