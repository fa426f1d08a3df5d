"""`python -m bench`: ingest against its ceiling, and engine tick time. See bench/README.md."""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from bench import profile, sdk_overhead, tick
from bench.load import LoadResult, run_load
from bench.servers import ServerProcess, ceiling_server, cpu_delta, machine_busy_seconds, onset_server
from server.config import load_settings

RATIO_TARGET = 0.4
P99_TARGET_MS = 50.0
TICK_TARGET_MS = 100.0


@dataclass
class Run:
    config: str
    round: int
    load: LoadResult
    server_cpu: float
    cpu_complete: bool
    machine_cpu: float

    @property
    def other_cpu(self) -> float:
        """CPU seconds spent by neither the server nor the clients: anything else on the machine."""
        return max(0.0, self.machine_cpu - self.server_cpu - self.load.client_cpu_seconds)

    @property
    def eps(self) -> float:
        return self.load.events_per_second

    @property
    def cpu_us_per_event(self) -> float:
        return self.server_cpu / self.load.events * 1e6 if self.load.events else float("nan")


def _measure(config: str, rnd: int, server: ServerProcess, key: str | None, args: argparse.Namespace,
             workdir: Path, profile_into: list | None = None) -> Run:
    readings: dict[str, dict[int, float]] = {}
    running: list = []
    busy: dict[str, float] = {}

    def opened() -> None:
        busy["before"] = machine_busy_seconds()
        readings["before"] = server.cpu()
        if profile_into is not None:
            running.extend(profile.start(server.workers(), args.seconds, workdir))

    def closed() -> None:
        readings["after"] = server.cpu()
        busy["after"] = machine_busy_seconds()

    try:
        server.start(args.workers)
        load = run_load(server.port, key, clients=args.clients, seconds=args.seconds, warmup=args.warmup,
                        size=args.batch, on_start=opened, on_end=closed)
    finally:
        if profile_into is not None:
            profile_into.extend(profile.finish(running))
        server.stop()
    spent, complete = cpu_delta(readings["before"], readings["after"])
    return Run(config, rnd, load, spent, complete, busy["after"] - busy["before"])


def _server(config: str, workdir: Path, workers: int) -> tuple[ServerProcess, str | None]:
    if config == "ceiling":
        return ceiling_server(workdir, workers), None
    return onset_server(workdir, workers, None if config == "onset" else config.split()[-1])


def _label(config: str, default_sync: str) -> str:
    if config == "onset":
        return f"onset {default_sync} (default)"
    return config


def _fmt_ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per ingest run (10)")
    parser.add_argument("--warmup", type=float, default=1, help="unmeasured seconds before each run (1)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of ceiling/onset runs, alternating (3)")
    parser.add_argument("--clients", type=int, default=4, help="client processes (4)")
    parser.add_argument("--batch", type=int, default=100, help="events per request (100)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: ONSET_WORKERS' default)")
    parser.add_argument("--events", type=int, default=1_000_000, help="stored events for the tick benchmark")
    parser.add_argument("--no-normal", action="store_true", help="skip the ONSET_SQLITE_SYNCHRONOUS=NORMAL runs")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-tick", action="store_true")
    parser.add_argument("--skip-sdk", action="store_true", help="skip the SDK overhead comparison")
    parser.add_argument("--profile", action="store_true",
                        help="after the runs, profile one onset run with py-spy and print the top costs")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases)")
    args = parser.parse_args(argv)

    defaults = load_settings({})
    args.workers = args.workers or defaults.workers
    default_sync = defaults.sqlite_synchronous
    workdir = Path(tempfile.mkdtemp(prefix="onset-bench-"))
    started = time.monotonic()
    out = print

    out(f"Onset bench: {os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version},"
        f" gunicorn {version('gunicorn')} ({args.workers} sync workers), Flask {version('flask')}")
    before = machine_busy_seconds()
    time.sleep(1.0)
    idle_busy = machine_busy_seconds() - before
    out(f"machine before starting: {idle_busy:.2f} of {os.cpu_count()} cores busy"
        + ("" if idle_busy < 0.15 else " - NOT IDLE: something else is running, the figures will be disturbed"))
    rows: list[tuple[str, str, str, str]] = []
    runs: list[Run] = []
    profiled: list[Path] = []
    tick_report = None
    try:
        if not args.skip_ingest:
            configs = ["ceiling", "onset"] + ([] if args.no_normal or default_sync == "NORMAL" else ["onset NORMAL"])
            out(f"\ningest: {args.clients} client processes (http.client, pre-encoded {args.batch}-event batches),"
                f" {args.seconds:g} s measured after {args.warmup:g} s warm-up, {args.rounds} alternating rounds")
            out(f"  {'round':<6}{'server':<24}{'events/s':>10}{'p50':>9}{'p99':>9}{'CPU/event':>11}"
                f"{'server':>9}{'client':>8}{'other':>7}{'reqs/conn':>10}")
            for rnd in range(1, args.rounds + 1):
                for config in configs:
                    server, key = _server(config, workdir, args.workers)
                    run = _measure(config, rnd, server, key, args, workdir)
                    runs.append(run)
                    load = run.load
                    note = "" if run.cpu_complete else " (a worker restarted: CPU partial)"
                    if load.failures:
                        note += f" {load.failures} failed requests, first: {load.first_failure}"
                    out(f"  {rnd:<6}{_label(config, default_sync):<24}{run.eps:>10,.0f}"
                        f"{load.percentile(50):>7.1f}ms{load.percentile(99):>7.1f}ms{run.cpu_us_per_event:>9.1f}us"
                        f"{run.server_cpu / args.seconds:>8.2f}c{load.client_cpu_seconds / args.seconds:>7.2f}c"
                        f"{run.other_cpu / args.seconds:>6.2f}c{load.requests / max(1, load.connects):>10.1f}{note}",
                        flush=True)
            rows += _ingest_rows(runs, configs, default_sync)
            busiest = max(r.other_cpu / args.seconds for r in runs)
            if busiest > 0.15:
                out(f"  note: something else used up to {busiest:.2f} cores during a run; the figures are"
                    " disturbed (run again on an idle machine)")

        if args.profile:
            if profile.py_spy() is None:
                out("\nprofile: py-spy is not installed (.venv/bin/pip install py-spy); skipped")
            else:
                server, key = _server("onset", workdir, args.workers)
                run = _measure("onset", 0, server, key, args, workdir, profiled)
                out(f"\nprofile: py-spy on the onset workers during one {args.seconds:g} s run"
                    f" ({run.eps:,.0f} events/s while sampled)")
                out("\n".join(profile.summarise(profiled)))

        if not args.skip_tick:
            out(f"\nengine tick: {args.events:,} events over one hour (50 services x 20 steps x 5 error codes),"
                " then a spike in the last minute")
            tick_report = tick.run(workdir, args.events, log=out)
            t = tick_report
            out(f"  {t.events:,} events, {t.counters:,} counter rows, counters match events: "
                f"{'yes' if t.consistent else 'NO'}")
            out(f"  quiet ticks (nothing opens): {', '.join(f'{x:.1f}' for x in t.quiet_ms)} ms")
            out(f"  first tick after the spike: {t.first_ms:.1f} ms, opened {', '.join(t.opened) or 'nothing'}"
                f" ({t.families} families; {t.cause})")
            out(f"  steady ticks ({default_sync}): median {t.median(t.steady_ms):.1f} ms,"
                f" max {max(t.steady_ms):.1f} ms over {len(t.steady_ms)}")
            out(f"  steady ticks (NORMAL): median {t.median(t.steady_normal_ms):.1f} ms,"
                f" max {max(t.steady_normal_ms):.1f} ms")
            rows += _tick_rows(tick_report)

        if not args.skip_sdk:
            out("\nSDK overhead: a small Flask app under gunicorn, no SDK vs onset_sdk vs sentry-sdk (traces 1.0)")
            rows += _sdk_rows(sdk_overhead.run())
    finally:
        if args.keep:
            out(f"\nwork directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    out("\nsummary")
    width = max((len(r[0]) for r in rows), default=10)
    out(f"  {'figure':<{width}}  {'value':>24}  {'target':>10}  result")
    for name, value, target, result in rows:
        out(f"  {name:<{width}}  {value:>24}  {target:>10}  {result}")
    out(f"\nfinished in {time.monotonic() - started:.0f} s")
    return 0


def _sdk_rows(result: dict) -> list[tuple[str, str, str, str]]:
    """Summary rows from bench.sdk_overhead.run(): added app CPU per request, onset vs sentry."""
    modes = result["modes"]
    onset_us = modes["onset"]["added_us_per_request"]
    sentry_us = modes["sentry"]["added_us_per_request"]
    rows = [("sdk: onset_sdk added CPU per request", f"{onset_us:.0f} us", "< 100 us", _verdict(onset_us < 100))]
    rows.append(("sdk: onset_sdk vs sentry-sdk added CPU", f"{onset_us:.0f} vs {sentry_us:.0f} us",
                     "<= sentry", _verdict(onset_us <= sentry_us)))
    return rows


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _ingest_rows(runs: list[Run], configs: list[str], default_sync: str) -> list[tuple[str, str, str, str]]:
    by: dict[str, list[Run]] = {c: [r for r in runs if r.config == c] for c in configs}
    med = {c: statistics.median(r.eps for r in by[c]) for c in configs}
    best = {c: max(r.eps for r in by[c]) for c in configs}
    cpu = {c: statistics.median(r.cpu_us_per_event for r in by[c]) for c in configs}
    rows = [("ceiling events/s (median; best)", f"{med['ceiling']:,.0f} ({best['ceiling']:,.0f})", "", "")]
    for c in configs[1:]:
        label = _label(c, default_sync)
        pooled = LoadResult(1, 0, 0, 0, 0, "", 0, [x for r in by[c] for x in r.load.latencies])
        ratio, best_ratio = med[c] / med["ceiling"], best[c] / best["ceiling"]
        p99 = pooled.percentile(99)
        rows += [
            (f"{label}: events/s (median; best)", f"{med[c]:,.0f} ({best[c]:,.0f})", "", ""),
            (f"{label}: onset/ceiling (medians; bests)", f"{ratio:.2f} ({best_ratio:.2f})",
             f">= {RATIO_TARGET:.1f}", _verdict(ratio >= RATIO_TARGET)),
            (f"{label}: batch latency p50", _fmt_ms(pooled.percentile(50)), "", ""),
            (f"{label}: batch latency p99", _fmt_ms(p99), f"<= {P99_TARGET_MS:.0f} ms",
             _verdict(p99 <= P99_TARGET_MS)),
            (f"{label}: server CPU per event", f"{cpu[c]:.1f} us (ceiling {cpu['ceiling']:.1f} us)", "", ""),
        ]
        failed = sum(r.load.failures for r in by[c])
        if failed:
            rows.append((f"{label}: failed requests", str(failed), "0", "MISS"))
    return rows


def _tick_rows(t: tick.TickReport) -> list[tuple[str, str, str, str]]:
    target = f"<= {TICK_TARGET_MS:.0f} ms"
    steady_max = max(t.steady_ms)
    return [
        ("engine: first tick, opens the incident", f"{t.first_ms:.1f} ms" + ("" if t.opened else " (NOTHING OPENED)"),
         target, _verdict(t.first_ms <= TICK_TARGET_MS and bool(t.opened))),
        ("engine: steady tick median (max)", f"{t.median(t.steady_ms):.1f} ms ({steady_max:.1f} ms)", target,
         _verdict(steady_max <= TICK_TARGET_MS)),
        ("engine: counters consistent with events", "yes" if t.consistent else "NO", "yes", _verdict(t.consistent)),
    ]


if __name__ == "__main__":
    sys.exit(main())
