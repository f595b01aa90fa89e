"""Reading TinyStories sources as a stream of stories, in constant memory.

Formats, recognised by content rather than by file name:

- gzip (magic bytes ``1f 8b``) of any of the formats below, decompressed on the fly;
- a JSON shard of the TinyStories repo: one JSON list of objects with a ``story`` field
  (first non-blank character ``[``), parsed element by element with
  `json.JSONDecoder.raw_decode` over a sliding buffer, never loaded whole;
- JSON Lines, one such object per line (first character ``{``);
- TinyStories V1/V2 text: stories separated by ``<|endoftext|>`` (anything else).

Every reader yields the story text exactly as the source has it (framing removed, see
`framing.py`); normalising is the importer's job. The bytes read from disk also feed the
source's sha256 and the progress bar, so each file is read once.
"""

from __future__ import annotations

import codecs
import gzip
import itertools
import hashlib
import io
import json
import zlib
from pathlib import Path
from typing import Callable, Iterator

from data_gen.stories.errors import StoriesError
from data_gen.stories.framing import SEPARATOR, SEPARATOR_BYTES

BLOCK = 1 << 20
MAX_STORY_BYTES = 1 << 20  # a "story" larger than this means the file is not TinyStories
_BOM = "\ufeff"


class _Tap(io.RawIOBase):
    """A read-only file that hashes and counts the bytes it hands out."""

    def __init__(self, f, on_bytes: Callable[[int], None]):
        self._f, self._on_bytes = f, on_bytes
        self.sha256, self.nbytes = hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self._f.readinto(b)
        if n:
            self.sha256.update(memoryview(b)[:n])
            self.nbytes += n
            self._on_bytes(n)
        return n


class Source:
    """One input file: its format (after opening) and, once read, its sha256 and size."""

    def __init__(self, path: str | Path, on_bytes: Callable[[int], None] = lambda n: None):
        self.path = Path(path)
        self._on_bytes = on_bytes
        self.format = self.compression = None
        self.tap: _Tap | None = None

    def stories(self) -> Iterator[str]:
        """Yields each story's text as the source has it; raises StoriesError on bad input."""
        path = self.path
        if not path.exists():
            raise StoriesError(f"{path}: no such file")
        if path.is_dir():
            raise StoriesError(f"{path}: is a folder, not a story file")
        if path.stat().st_size == 0:
            raise StoriesError(f"{path}: empty file")
        with open(path, "rb") as raw:
            self.tap = _Tap(raw, self._on_bytes)
            tapped = io.BufferedReader(self.tap, BLOCK)
            stream = tapped
            if tapped.peek(2)[:2] == b"\x1f\x8b":
                self.compression = "gzip"
                stream = gzip.GzipFile(fileobj=tapped, mode="rb")
            blocks = self._blocks(stream)
            head = next(blocks, b"")
            if not head:
                raise StoriesError(f"{path}: empty file (after decompression)")
            first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
            self.format = {b"[": "json", b"{": "jsonl"}.get(first, "text")
            reader = {"json": self._json, "jsonl": self._jsonl, "text": self._text}[self.format]
            yield from reader(itertools.chain([head], blocks))
            for f in (stream, tapped):  # hash any bytes after the data (gzip trailers, padding)
                while f.read(BLOCK):
                    pass

    def _blocks(self, stream) -> Iterator[bytes]:
        offset = 0
        while True:
            try:
                block = stream.read(BLOCK)
            except (gzip.BadGzipFile, zlib.error, EOFError) as e:
                raise StoriesError(f"{self.path}: corrupt gzip file ({e})") from None
            if not block:
                return
            nul = block.find(b"\x00")
            if nul >= 0:
                raise StoriesError(f"{self.path}: binary file, not text (NUL byte at offset {offset + nul})")
            offset += len(block)
            yield block

    def _decode(self, data: bytes, offset: int) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise StoriesError(f"{self.path}: not UTF-8 text (bad byte at offset {offset + e.start})") from None

    def _text(self, blocks: Iterator[bytes]) -> Iterator[str]:
        """V1/V2 text: a story is the bytes between separators, less the line break before one."""
        carry, offset = b"", 0  # offset: position of carry[0] in the (decompressed) file
        n = len(SEPARATOR_BYTES)
        for block in itertools.chain(blocks, [None]):
            final = block is None
            buf = carry + block if not final else carry
            start = 0
            while True:
                i = buf.find(SEPARATOR_BYTES, start)
                # a separator at the end of a block waits for its line break in the next one
                if i < 0 or (not final and i + n + 2 > len(buf)):
                    break
                j = i + n
                j += 2 if buf.startswith(b"\r\n", j) else 1 if buf.startswith(b"\n", j) else 0
                yield self._decode(_drop_line_break(buf[start:i]), offset + start)
                start = j
            carry, offset = buf[start:], offset + start
            if len(carry) > MAX_STORY_BYTES:
                raise StoriesError(f"{self.path}: no {SEPARATOR} separator in {MAX_STORY_BYTES} bytes "
                                   f"after offset {offset}: not a TinyStories text file")
        if carry:
            yield self._decode(_drop_line_break(carry), offset)

    def _story_of(self, obj, index: int) -> str:
        if not isinstance(obj, dict):
            raise StoriesError(f"{self.path}: JSON element {index} is a {type(obj).__name__}, not an object")
        if "story" not in obj:
            raise StoriesError(f"{self.path}: JSON element {index} has no 'story' field")
        if not isinstance(obj["story"], str):
            raise StoriesError(f"{self.path}: JSON element {index}: 'story' is not a string")
        return obj["story"]

    def _json(self, blocks: Iterator[bytes]) -> Iterator[str]:
        """A JSON list of objects, decoded one element at a time from a sliding text buffer."""
        decoder, text = json.JSONDecoder(), codecs.getincrementaldecoder("utf-8")()
        buf, pos, eof, index, consumed = "", 0, False, 0, 0
        expect = "["  # then: an element or "]", then "," or "]"

        def more() -> bool:
            nonlocal buf, pos, eof, consumed
            block = next(blocks, None)
            try:
                chunk = text.decode(block or b"", final=block is None)
            except UnicodeDecodeError:
                raise StoriesError(f"{self.path}: not UTF-8 text (near byte {consumed})") from None
            eof = block is None
            consumed += len(block or b"")
            buf, pos = buf[pos:] + chunk, 0
            if len(buf) > 16 * MAX_STORY_BYTES:
                raise StoriesError(f"{self.path}: JSON element {index} is larger than {16 * MAX_STORY_BYTES} bytes")
            return not eof

        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n" + _BOM:
                pos += 1
            if pos >= len(buf):
                if more():
                    continue
                raise StoriesError(f"{self.path}: JSON ends early (after element {index})")
            c = buf[pos]
            if expect == "[":
                if c != "[":
                    raise StoriesError(f"{self.path}: JSON shard must be a list of objects")
                pos, expect = pos + 1, "element"
            elif expect == "," and c in ",]":
                pos, expect = pos + 1, "element" if c == "," else "end"
                if c == "]":
                    break
            elif expect == "element" and c == "]" and index == 0:
                pos = pos + 1
                break
            elif expect == "element":
                try:
                    obj, end = decoder.raw_decode(buf, pos)
                except json.JSONDecodeError as e:
                    if more():  # maybe the element continues in the next block
                        continue
                    raise StoriesError(f"{self.path}: malformed JSON in element {index} ({e.msg})") from None
                yield self._story_of(obj, index)
                pos, expect, index = end, ",", index + 1
            else:
                raise StoriesError(f"{self.path}: malformed JSON after element {index - 1} (expected ',' or ']')")
        while True:  # only blanks may follow the list
            if buf[pos:].strip(" \t\r\n"):
                raise StoriesError(f"{self.path}: unexpected data after the JSON list")
            buf, pos = "", 0
            if not more():
                break

    def _jsonl(self, blocks: Iterator[bytes]) -> Iterator[str]:
        """JSON Lines: one object per line."""
        for index, (line, offset) in enumerate(_lines(blocks)):
            line_text = self._decode(line, offset).strip()
            if not line_text:
                continue
            try:
                obj = json.loads(line_text)
            except json.JSONDecodeError as e:
                raise StoriesError(f"{self.path}: malformed JSON on line {index + 1} ({e.msg})") from None
            yield self._story_of(obj, index)

    @property
    def sha256(self) -> str:
        return self.tap.sha256.hexdigest()

    @property
    def nbytes(self) -> int:
        return self.tap.nbytes


def _drop_line_break(chunk: bytes) -> bytes:
    return chunk[:-2] if chunk.endswith(b"\r\n") else chunk[:-1] if chunk.endswith(b"\n") else chunk


def _lines(blocks: Iterator[bytes]) -> Iterator[tuple[bytes, int]]:
    carry, offset = b"", 0
    for block in blocks:
        parts = (carry + block).split(b"\n")
        carry = parts.pop()
        for part in parts:
            yield part, offset
            offset += len(part) + 1
        if len(carry) > 16 * MAX_STORY_BYTES:
            raise StoriesError(f"line at offset {offset} is longer than {16 * MAX_STORY_BYTES} bytes")
    if carry:
        yield carry, offset
