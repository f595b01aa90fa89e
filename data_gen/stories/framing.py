"""The on-disk story format: TinyStories V2 text, exactly as written by `picojax data stories`.

Framing (the tokenizer helper and the stories eval read it back with `read_stories`):

- A file is UTF-8 text, a sequence of stories, each written as ``TEXT + "\\n<|endoftext|>\\n"``:
  the story's text, one newline, the separator ``<|endoftext|>`` alone on its line, and
  that line's newline. Nothing precedes the first story and nothing follows the last
  separator line; an empty split is an empty file.
- ``TEXT`` never contains the separator, and is never empty or whitespace-only. In the
  default (normalised) mode it has no leading or trailing whitespace, lines end in ``\\n``
  only, runs of spaces/tabs are one space, and blank lines are removed, so paragraphs are
  separated by exactly one ``\\n``. In byte-exact mode (``--exact``) ``TEXT`` is the source
  story byte for byte; then it may start with blank lines (the real V2 files have some),
  but it still ends without the line break that precedes the separator.
- Reading splits on separator lines: a story is everything between one separator line and
  the next, less the single line break just before the separator. So the bytes between two
  separator lines of a byte-exact output equal those of the source file.

The importer (`importer.py`) reads this format and the TinyStories V1 text, JSON shards and
gzip files; `read_stories` reads only files this module wrote (or clean V2 text).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

SEPARATOR = "<|endoftext|>"
SEPARATOR_LINE = "\n" + SEPARATOR + "\n"  # what follows every story's text
SEPARATOR_BYTES = SEPARATOR.encode()


def frame(text: str) -> str:
    """One story as it appears in the file: its text, then the separator line."""
    return text + SEPARATOR_LINE


def split_stories(data: str) -> list[str]:
    """All stories of a V2-framed string (inverse of joining `frame` outputs)."""
    if not data:
        return []
    parts = data.split(SEPARATOR_LINE)
    if parts[-1] == "":
        parts.pop()
    return parts


def read_stories(path: str | Path) -> Iterator[str]:
    """Streams the stories of a file in this format, one at a time, in constant memory."""
    lines: list[str] = []
    with open(path, encoding="utf-8", newline="") as f:
        for line in f:
            if line.rstrip("\r\n") == SEPARATOR:
                yield _drop_line_break("".join(lines))
                lines = []
            else:
                lines.append(line)
    if any(line.strip() for line in lines):  # a last story without its separator
        yield _drop_line_break("".join(lines))


def _drop_line_break(text: str) -> str:
    """The last line break before a separator belongs to the framing, not to the story."""
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text
