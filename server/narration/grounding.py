"""The grounding check: may this narration be shown beside the report? Pure.

A narration is rejected when it names a service, step, version, error code, number, time or
cause that the report does not hold, when it contradicts the report's cause or confidence,
when it speaks of a kind of change (a deploy, a crash, a config change) the report did not
see, or when it is empty or long. Strict on purpose: a rejected narration costs a nicer
sentence (the templated summary is shown instead); an accepted invention costs trust.
Each violation is named (kind, value, why) so the rejection can be recorded and read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from server.narration.facts import Facts

MAX_CHARS = 1200

_DATETIME = re.compile(
    r"\b(\d{4}-\d{2}-\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_CLOCK = re.compile(r"(?<![\w:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap])\.?m\.?)?(?![\w:])", re.I)
_STEP = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+(/[^\s,;)\]]*)")
_PATH = re.compile(r"(?<![\w/.:])(/[A-Za-z0-9_{}:.-]+(?:/[A-Za-z0-9_{}:.-]*)*)")
_VERSION = re.compile(r"(?<![\w.])(v\d+(?:\.\d+)*(?:[-+][\w.]+)?|\d+\.\d+\.\d+(?:[-+][\w.]+)?)(?![\w])", re.I)
_VERSION_WORD = re.compile(r"\bversion\s+([\w.+-]*\d[\w.+-]*)", re.I)
_CODE = re.compile(r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Z]{1,6}\d{2,}|[A-Z]\w*(?:Error|Exception|Fault))\b")
_COMPOUND = re.compile(r"(?<![\w.-])([A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)+)(?![\w-])")
# A number, maybe with a unit glued on ("2m", "40%"); not the digits inside a word or an id.
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?=[A-Za-z%]*\b|[^\w]|$)")
_STATUS_CLASS = re.compile(r"\b[1-5]xx\b", re.I)
_HEX = re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])([0-9a-f]{7,64})\b")
_CONFIDENCE = re.compile(r"\b(high|medium|low)[\s-]+confidence\b", re.I)
_SERVICE_CUES = (
    re.compile(r"\b([\w.-]+)\s+(?:service|microservice|api|backend)\b", re.I),
    re.compile(r"\bservices?\s+(?:called|named)\s+([\w.-]+)", re.I),
    re.compile(r"\bdeploy(?:ment)?\s+of\s+(?:the\s+)?([\w.-]+)", re.I),
    re.compile(r"\b([\w.-]+)\s+(?:was|were|got|has been|had been)\s+(?:deployed|released|restarted|rolled back)", re.I),
    re.compile(r"\bcalls?\s+(?:to|from)\s+(?:the\s+)?([\w.-]+)", re.I),
)
# Words that may stand where a cue expects a service name.
_NOT_NAMES = frozenset(re.findall(r"\S+", """a an the this that these those one each every any no its their his her our your which
what same other another affected failing failed upstream downstream origin originating calling called external
internal dependent entry first second single whole backend frontend web new old recent previous all both several
many few some is was are were has had be been being and or of in on at to by for with from as it he she they we
you i not only also then when where while if else"""))
# Hyphenated English that is not a name.
_PLAIN_COMPOUNDS = frozenset(re.findall(r"\S+", """third-party follow-up well-known so-called re-run rerun roll-back roll-out
high-confidence medium-confidence low-confidence error-rate end-to-end up-to-date on-call real-time
user-facing non-zero"""))

_CHANGE_WORDS = {
    "deploy": re.compile(r"\b(deploy\w*|release[ds]?|releasing|roll(?:ed)?[\s-]?(?:out|back)\w*|new version)\b", re.I),
    "runtime": re.compile(r"\b(crash\w*|panic\w*|oom\w*|out of memory|restart\w*|segfault\w*|killed)\b", re.I),
    "config": re.compile(r"\b(config\w*|feature flag\w*)\b", re.I),
}
_CAUSE_CUE = re.compile(r"\b(likely cause|root cause|caused by|cause (?:is|was)|cause:|due to|because of|because|"
                        r"triggered by|result(?:ed)? (?:of|from)|stems? from|traced to|introduced by|blame\w*|"
                        r"attributed to|responsible)\b", re.I)
_KIND_WORDS = {
    "deploy": _CHANGE_WORDS["deploy"],
    "runtime": _CHANGE_WORDS["runtime"],
    "config": _CHANGE_WORDS["config"],
    "dependency": re.compile(r"\b(dependenc\w*|upstream|downstream|third[\s-]party|external|database|db|network|"
                             r"outage|unavailable|time[sd]?[\s-]?out\w*|calls? to)\b", re.I),
    "app": re.compile(r"\b(inside|bug\w*|code path|application (?:error|bug)|in the code)\b", re.I),
    "unknown": re.compile(r"\b(unknown|not (?:yet )?(?:determined|known|clear)|unclear|undetermined)\b", re.I),
}


@dataclass(frozen=True)
class Grounding:
    violations: tuple[dict[str, str], ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.violations

    def reason(self) -> str | None:
        """One line saying why the narration was rejected; None when it was not."""
        if self.ok:
            return None
        return "; ".join(f"{v['kind']} {v['value']!r}: {v['why']}" for v in self.violations[:5])


def _violation(kind: str, value: str, why: str) -> dict[str, str]:
    return {"kind": kind, "value": value, "why": why}


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _times(text: str, facts: Facts) -> Iterator[tuple[dict[str, str] | None, int, int]]:
    for m in _DATETIME.finditer(text):
        date, hh, mm, ss = m.groups()
        bad = date not in facts.dates
        if hh is not None:
            clock = f"{int(hh):02d}:{mm}" + (f":{ss}" if ss else "")
            bad = bad or clock not in facts.times
        yield (_violation("time", m.group(0), "not a time of the report") if bad else None), m.start(), m.end()


def _clocks(text: str, facts: Facts) -> Iterator[tuple[dict[str, str] | None, int, int]]:
    for m in _CLOCK.finditer(text):
        hh, mm, ss, half = m.groups()
        hour = int(hh)
        if half:
            hour = hour % 12 + (12 if half.lower() == "p" else 0)
        clock = f"{hour:02d}:{mm}" + (f":{ss}" if ss else "")
        bad = clock not in facts.times
        yield (_violation("time", m.group(0), "not a time of the report") if bad else None), m.start(), m.end()


def _steps(pattern: re.Pattern[str], group: int, text: str,
           facts: Facts) -> Iterator[tuple[dict[str, str] | None, int, int]]:
    for m in pattern.finditer(text):
        step = m.group(group).rstrip(".:!?")  # the sentence's own punctuation
        known = any(step in step_of_report for step_of_report in facts.steps)
        yield (None if known else _violation("step", step, "no such step in the report")), m.start(group), m.end(group)


def _scan(text: str, facts: Facts) -> tuple[list[dict[str, str]], str]:
    """Violations of names, times and versions; and the text with every checked span blanked
    (so that the digits inside them are not read again as numbers)."""
    found: list[dict[str, str]] = []
    checks = [
        lambda t: _times(t, facts),
        lambda t: _clocks(t, facts),
        lambda t: _steps(_STEP, 0, t, facts),
        lambda t: _steps(_PATH, 1, t, facts),
        lambda t: ((None if m.group(1) in facts.versions or m.group(1).lstrip("vV") in facts.versions
                    else _violation("version", m.group(1), "no such version in the report"), m.start(1), m.end(1))
                   for m in [*_VERSION_WORD.finditer(t), *_VERSION.finditer(t)]),
        lambda t: ((None if m.group(1) in facts.names else _violation("error_code", m.group(1), "no such error code"
                   " in the report"), m.start(1), m.end(1)) for m in _CODE.finditer(t)),
        lambda t: ((None if any(i.startswith(m.group(1)) for i in facts.identifiers) else _violation(
                    "name", m.group(1), "no such id or commit in the report"), m.start(1), m.end(1))
                   for m in _HEX.finditer(t)),
        lambda t: ((None, m.start(), m.end()) for m in _STATUS_CLASS.finditer(t)),
        lambda t: ((None if m.group(1) in facts.names or m.group(1).lower() in _PLAIN_COMPOUNDS
                    else _violation("name", m.group(1), "names nothing in the report"), m.start(1), m.end(1))
                   for m in _COMPOUND.finditer(t)),
    ]
    for check in checks:
        spans = list(check(text))
        for violation, _, _ in spans:
            if violation is not None and violation not in found:
                found.append(violation)
        for _, start, end in spans:
            text = _blank(text, start, end)
    return found, text


def _services(text: str, facts: Facts) -> list[dict[str, str]]:
    known = {s.lower() for s in facts.names}
    found = []
    for cue in _SERVICE_CUES:
        for m in cue.finditer(text):
            name = m.group(1).strip(".-")
            # A version or a number where a name was expected is the version check's to judge.
            if name and name.lower() not in known and name.lower() not in _NOT_NAMES and not name[0].isdigit():
                violation = _violation("service", name, "no such service in the report")
                if violation not in found:
                    found.append(violation)
    return found


def _matches_number(token: str, facts: Facts) -> bool:
    value = float(token.replace(",", ""))
    decimals = len(token.split(".")[1]) if "." in token else 0
    # "33%" stands for 0.3333; "2.5" for 2.4999: compare at the precision the sentence uses.
    return any(abs(round(n, decimals) - value) < 1e-9 for n in facts.numbers)


def _numbers(blanked: str, facts: Facts) -> list[dict[str, str]]:
    found = []
    for m in _NUMBER.finditer(blanked):
        token = m.group(1) + (m.group(2) or "")
        violation = _violation("number", token, "no such number in the report")
        if not _matches_number(token, facts) and violation not in found:
            found.append(violation)
    return found


def _changes(text: str, facts: Facts) -> list[dict[str, str]]:
    found = []
    for kind, words in _CHANGE_WORDS.items():
        m = words.search(text)
        if m and kind not in facts.change_types and facts.cause != kind:
            found.append(_violation("change", m.group(0), f"the report saw no {kind} change"))
    return found


def _kind_at(clause: str, facts: Facts) -> str | None:
    """The first kind of cause the clause names, by position."""
    first: tuple[int, str] | None = None
    for kind, words in _KIND_WORDS.items():
        m = words.search(clause)
        if m and (first is None or m.start() < first[0]):
            first = (m.start(), kind)
    lowered = clause.lower()
    for name in facts.dependencies:
        at = lowered.find(name.lower())
        if at >= 0 and (first is None or at < first[0]):
            first = (at, "dependency")
    return first[1] if first else None


def _cause(text: str, facts: Facts) -> list[dict[str, str]]:
    found = []
    for sentence in re.split(r"(?<=[.!?;])\s+", text):
        for cue in _CAUSE_CUE.finditer(sentence):
            kind = _kind_at(sentence[cue.end():], facts)
            if kind is not None and kind != facts.cause:
                found.append(_violation("cause", sentence[cue.start():].strip()[:120],
                                        f"names a {kind} cause; the report's cause is {facts.cause}"))
                break
    for m in _CONFIDENCE.finditer(text):
        if m.group(1).lower() != facts.confidence:
            found.append(_violation("confidence", m.group(0), f"the report's confidence is {facts.confidence}"))
    return found


def check_narration(text: str, facts: Facts) -> Grounding:
    """Whether `text` names only what `facts` (from `facts_of(report)`) hold. Never raises."""
    if not text.strip():
        return Grounding((_violation("length", "", "the narration is empty"),))
    if len(text) > MAX_CHARS:
        return Grounding((_violation("length", f"{len(text)} characters", f"longer than {MAX_CHARS}"),))
    found, blanked = _scan(text, facts)
    found += _services(text, facts)
    found += _numbers(blanked, facts)
    found += _changes(text, facts)
    found += _cause(text, facts)
    return Grounding(tuple(found))
