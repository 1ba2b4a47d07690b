"""Reading a cle-tracker document incrementally: one patient at a time, never the whole text.

A 20,000-patient document is ~140 MB of JSON; decoded whole it held ~1.5 GB.
`members(source)` walks the top-level object by hand and decodes each member
(and each item of "patients") with the standard library's own decoder
(json.JSONDecoder.raw_decode on a sliding window of text), so a value means
exactly what json.loads would make of it: same numbers, same strings, same
error messages with the line and column in the whole document. Only the
window (about a megabyte, or one patient if a patient is larger) is held.

Sources: bytes or a memoryview (the job's stored payload, read in slices,
not copied), str, a path, or a binary file object.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

CHUNK = 1 << 20
# Limits of the JSON text itself, checked before anything else reads the tree:
# the format nests 8 levels deep (patients[].visits[].clasi.areas.<area>.<item>)
# and its largest integer is a few digits, so a document past these is not one.
MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")
# A lone surrogate comes from a \uD800-\uDFFF escape (strict UTF-8 cannot hold
# one): a scan of the text at C speed says whether the strings need looking at.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_WHITESPACE = " \t\n\r"
# Enough for any token that can be cut at the window's end ("\ud83d\ude00", a number).
_TAIL = 16


class JSONTextError(ValueError):
    """The text is not JSON, or not UTF-8; `message` says where, like loads_document did."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


Source = bytes | bytearray | memoryview | str | os.PathLike | BinaryIO


def _reader(source: Source) -> tuple[Callable[[int], Any], Callable[[], None]]:
    """A function returning the next piece of at most n units ("" or b"" at the end), and a closer."""
    if isinstance(source, (bytes, bytearray, memoryview, str)):
        view = memoryview(source) if not isinstance(source, str) else source
        state = {"at": 0}

        def read(n: int):
            start = state["at"]
            state["at"] = start + n
            piece = view[start : start + n]
            return piece if isinstance(piece, str) else bytes(piece)

        return read, lambda: None
    if isinstance(source, (os.PathLike, str)):
        handle = open(source, "rb")  # noqa: SIM115 - closed by the closer
        return handle.read, handle.close
    if isinstance(source, io.IOBase) or hasattr(source, "read"):
        return source.read, lambda: None
    raise TypeError(f"cannot read a document from {type(source).__name__}")


class Window:
    """The part of the document's text being decoded, with where it lies in the whole."""

    def __init__(self, source: Source, parse_int: Callable[[str], int]) -> None:
        self._read, self.close = _reader(source)
        self._decode = codecs.getincrementaldecoder("utf-8-sig")("strict").decode
        self._decoder = json.JSONDecoder(parse_int=parse_int)
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.line = 1  # line of buf[0] in the document
        self.column = 0  # characters before buf[0] on that line
        # Set once the text has shown a \uD800-\uDFFF escape or a surrogate:
        # only then must the decoded strings be searched for lone ones.
        self.maybe_surrogates = False
        self._tail = ""

    # -- the text
    def _fill(self) -> bool:
        """Read more text (at least as much as is held: a huge value costs log n retries)."""
        if self.eof:
            return False
        if self.pos > CHUNK:
            dropped = self.buf[: self.pos]
            newlines = dropped.count("\n")
            if newlines:
                self.line += newlines
                self.column = len(dropped) - dropped.rfind("\n") - 1
            else:
                self.column += len(dropped)
            self.buf = self.buf[self.pos :]
            self.pos = 0
        raw = self._read(max(CHUNK, len(self.buf)))
        try:
            if isinstance(raw, str):
                text = raw
            else:
                text = self._decode(raw, final=not raw)
        except UnicodeDecodeError:
            raise JSONTextError("not UTF-8 text") from None
        if not raw:
            self.eof = True
        if text:
            seam = self._tail + text
            if not self.maybe_surrogates and (
                _SURROGATE_ESCAPE.search(seam) or _SURROGATE.search(text)
            ):
                self.maybe_surrogates = True
            self._tail = seam[-_TAIL:]
            self.buf += text
        return True

    def where(self, pos: int) -> str:
        before = self.buf[:pos]
        newlines = before.count("\n")
        if newlines:
            return f"line {self.line + newlines}, column {pos - before.rfind(chr(10))}"
        return f"line {self.line}, column {self.column + pos + 1}"

    def error(self, message: str, pos: int | None = None) -> JSONTextError:
        at = self.pos if pos is None else pos
        return JSONTextError(f"not valid JSON: {message} at {self.where(at)}")

    def peek(self) -> str:
        """The next character after whitespace ("" at the end of the text)."""
        while True:
            buf, pos = self.buf, self.pos
            while pos < len(buf) and buf[pos] in _WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < len(buf):
                return buf[pos]
            if not self._fill():
                return ""

    def expect(self, char: str, message: str) -> None:
        if self.peek() != char:
            raise self.error(message)
        self.pos += 1

    def value(self) -> Any:
        """Decode the next JSON value, reading on while it is cut by the window's end."""
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as caught:
                cut = caught.pos >= len(self.buf) - _TAIL or caught.msg.startswith(
                    "Unterminated string"
                )
                if cut and self._fill():
                    continue
                raise self.error(caught.msg, caught.pos) from None
            except RecursionError:
                raise JSONTextError(f"nested more than {MAX_DEPTH} levels deep") from None
            # A number at the very end of the window may go on in the next piece.
            if end >= len(self.buf) and not self.eof and self._fill():
                continue
            self.pos = end
            return value

    def key(self) -> str:
        if self.peek() != '"':
            raise self.error("Expecting property name enclosed in double quotes")
        return self.value()


# What members() yields.
MEMBER, PATIENTS, PATIENT, ROOT = "member", "patients", "patient", "root"


def members(window: Window) -> Iterator[tuple]:
    """The top-level object, member by member, each patient on its own.

    Yields (MEMBER, key, value) for each member but an array "patients";
    for that one (PATIENTS, "patients", None) then (PATIENT, i, value) per item.
    A document that is not an object yields (ROOT, None, value) once.
    Raises JSONTextError for text that is not JSON, as json.loads would.
    """
    if window.peek() != "{":
        root = window.value()
        if window.peek():
            raise window.error("Extra data")
        yield ROOT, None, root
        return
    window.pos += 1
    if window.peek() == "}":
        window.pos += 1
    else:
        while True:
            key = window.key()
            window.expect(":", "Expecting ':' delimiter")
            if key == "patients" and window.peek() == "[":
                window.pos += 1
                yield PATIENTS, key, None
                i = 0
                if window.peek() == "]":
                    window.pos += 1
                else:
                    while True:
                        yield PATIENT, i, window.value()
                        i += 1
                        following = window.peek()
                        window.pos += 1
                        if following == "]":
                            break
                        if following != ",":
                            window.pos -= 1
                            raise window.error("Expecting ',' delimiter")
            else:
                yield MEMBER, key, window.value()
            following = window.peek()
            window.pos += 1
            if following == "}":
                break
            if following != ",":
                window.pos -= 1
                raise window.error("Expecting ',' delimiter")
    if window.peek():
        raise window.error("Extra data")
