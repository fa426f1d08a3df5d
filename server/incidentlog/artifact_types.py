"""What an artifact is, told from its content (not only its name). Pure.

Artifacts are Markdown, JSON or plain text: UTF-8 without NUL or other control characters
(tab, newlines, form feed and the escape of terminal colours aside). A JSON artifact must
parse. Anything else — an image, an archive, a binary renamed `.md` — is refused. Served
back, they are downloads only (`Content-Disposition: attachment`), never rendered as HTML.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import orjson

MAX_ARTIFACT_BYTES = 2 * 1024 * 1024
MARKDOWN, JSON, TEXT = "text/markdown", "application/json", "text/plain"
TYPES = (MARKDOWN, JSON, TEXT)
EXTENSIONS = {".md": MARKDOWN, ".markdown": MARKDOWN, ".json": JSON, ".txt": TEXT, ".log": TEXT}
MAX_NAME = 200

# Magic numbers of the binaries people attach by mistake, to say what was refused.
_MAGIC = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
          (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive"), (b"\x1f\x8b", "gzip data"),
          (b"\x7fELF", "an executable"), (b"MZ", "an executable"))
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")


@dataclass(frozen=True)
class Checked:
    content_type: str | None  # None: refused
    problem: str | None = None


def safe_name(name: str | None) -> str | None:
    """The file name without any directory part, spaces and the characters a header or a
    shell would trip on replaced; None when nothing usable is left."""
    if not name:
        return None
    base = re.split(r"[\\/]", name)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(c if c.isprintable() and c not in '"<>|:*?;' else "_" for c in base).strip(" .")
    return base[:MAX_NAME] or None


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def check_artifact(name: str, declared_type: str | None, content: bytes) -> Checked:
    """The content type to store `content` under, or why it is refused."""
    if not content:
        return Checked(None, "the file is empty")
    for magic, what in _MAGIC:
        if content.startswith(magic):
            return Checked(None, f"the content is {what}, not Markdown, JSON or text")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Checked(None, f"the content is not UTF-8 text (byte {exc.start})")
    control = _CONTROL.search(text)
    if control is not None:
        return Checked(None, f"the content has a control character (U+{ord(control.group()):04X}): it is binary,"
                             " not text")
    declared = (declared_type or "").split(";", 1)[0].strip().lower()
    wanted = EXTENSIONS.get(_extension(name)) or (declared if declared in TYPES else None)
    if wanted is None:
        return Checked(None, f"{name!r} is not Markdown, JSON or text: name it .md, .json, .txt or .log")
    if wanted == JSON:
        try:
            orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            return Checked(None, f"the content is not valid JSON: {exc}")
    return Checked(wanted)
