"""``manage.py clasi_score FILE``: score one exchange-format CLASI examination.

Prints the scorer's answer (docs/exchange-format.md) as indented JSON on
stdout.  Any problem (missing file, malformed JSON, a rejected examination)
is one plain line on stderr, beginning with the offending path so a
clinician can find it, and exit status 1; never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from clinical.instruments.exam import ExamError, score_data


class InputProblem(Exception):
    """The examination could not be read; the message says why and where."""


def read_document(source: str) -> Any:
    """The JSON value in FILE, or on stdin for ``-``."""
    name = "<stdin>" if source == "-" else source
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except FileNotFoundError:
        raise InputProblem(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputProblem(f"{name}: is a directory, not a file") from None
    except OSError as exc:
        raise InputProblem(f"{name}: cannot be read ({exc.strerror or exc})") from None
    try:
        # json.loads on bytes detects UTF-8/16/32 as RFC 8259 allows.
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputProblem(
            f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError:
        raise InputProblem(f"{name}: invalid JSON: not UTF-8 text") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer over 4300 digits
        raise InputProblem(f"{name}: invalid JSON: {exc}") from None


class Command(BaseCommand):
    help = (
        "Score a CLASI examination written in the cle-tracker/1 exchange format "
        "and print the activity and damage scores as JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the examination as a JSON file, or - for stdin")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            answer = score_data(read_document(options["file"])).to_dict()
        except (InputProblem, ExamError) as exc:
            # Not CommandError: its "CommandError: " prefix would hide the
            # path the message starts with.
            self.stderr.write(str(exc), style_func=lambda text: text)
            sys.exit(1)
        self.stdout.write(json.dumps(answer, indent=2))
