"""Sampling profile of the server workers with py-spy, summarised as the top costs.

py-spy attaches from outside (no code in the server changes) and samples every worker for
the length of one load run; `--nonblocking` keeps it from pausing the workers it samples.
Stacks are summarised two ways: self time (the frame on top of the stack) and inclusive
time (any frame on the stack), each as a share of all samples of busy threads.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"^(.*) (\d+)$")
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def start(pids: list[int], seconds: float, workdir: Path, rate: int = 250) -> list[tuple[subprocess.Popen, Path]]:
    exe = py_spy()
    if exe is None:
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    running = []
    for pid in pids:
        out = workdir / f"profile-{pid}.txt"
        proc = subprocess.Popen([exe, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
                                 "--rate", str(rate), "--format", "raw", "--nonblocking", "--output", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        running.append((proc, out))
    return running


def finish(running: list[tuple[subprocess.Popen, Path]]) -> list[Path]:
    done = []
    for proc, out in running:
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if out.exists():
            done.append(out)
    return done


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match.group("file")
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match.group('func')} ({path})"


def summarise(paths: list[Path], top: int = 15) -> list[str]:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            match = _LINE.match(line)
            if not match:
                continue
            count = int(match.group(2))
            frames = [_short(f) for f in match.group(1).split(";")]
            # Skip the thread's root (process/thread name) and idle waits.
            frames = [f for f in frames if not f.startswith(("process ", "thread "))]
            if not frames:
                continue
            total += count
            own[frames[-1]] += count
            for f in set(frames):
                inclusive[f] += count
    if not total:
        return ["  (no samples)"]
    lines = [f"  {total} samples of busy worker threads", "  self time (top of stack):"]
    lines += [f"    {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines.append("  inclusive time of onset's own functions (anywhere on the stack):")
    ours = [(f, n) for f, n in inclusive.most_common() if "(server/" in f]
    lines += [f"    {100 * n / total:5.1f}%  {f}" for f, n in ours[:top]]
    return lines
