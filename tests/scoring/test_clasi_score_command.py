"""``manage.py clasi_score FILE``: the scorer's answer on stdout, one plain
line naming the problem on stderr and exit status 1 otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.clinical.exchange_example import ANSWER, EXAMPLE

REPO = Path(__file__).resolve().parents[2]

def run_manage(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings_test")
    return subprocess.run(
        [sys.executable, "manage.py", "clasi_score", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_prints_the_scorers_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exam = tmp_path / "exam.json"
    exam.write_text(json.dumps(EXAMPLE))
    call_command("clasi_score", str(exam))
    out = capsys.readouterr().out
    assert json.loads(out) == ANSWER
    assert out.startswith('{\n  "instrument": "CLASI",')  # indent=2


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            {"areas": {"scalp": {"scarring": 1}}},
            "areas.scalp.scarring: not scored on the scalp; use scalp_scarring",
        ),
        ({"areas": {"ears": {"erythema": 5}}}, "areas.ears.erythema: 5 is not one of 0, 1, 2, 3"),
        ({"scalp_scarring": 2}, "scalp_scarring: 2 is not one of 0, 3, 4, 5, 6"),
    ],
)
def test_a_bad_exam_names_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: object, expected: str
) -> None:
    exam = tmp_path / "exam.json"
    exam.write_text(json.dumps(content))
    with pytest.raises(SystemExit) as exit_:
        call_command("clasi_score", str(exam))
    assert exit_.value.code == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == expected
    assert captured.out == ""


def test_malformed_json_gives_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exam = tmp_path / "broken.json"
    exam.write_text('{\n  "areas": {\n    "ears": {"erythema": 2,}\n  }\n}\n')
    with pytest.raises(SystemExit) as exit_:
        call_command("clasi_score", str(exam))
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{exam}: invalid JSON at line 3, column ")


def test_a_missing_file_is_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(SystemExit) as exit_:
        call_command("clasi_score", str(missing))
    assert exit_.value.code == 1
    assert capsys.readouterr().err.strip() == f"{missing}: no such file"


def test_through_manage_py_reads_stdin() -> None:
    done = run_manage("-", stdin=json.dumps(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ANSWER


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        ('{"areas": {"scalp": {"scarring": 1}}}',
         "areas.scalp.scarring: not scored on the scalp; use scalp_scarring"),
        ('{"areas": ', "<stdin>: invalid JSON at line 1, column 11: Expecting value"),
        ("[1, 2]", "an examination must be a JSON object, not an array"),
    ],
)  # fmt: skip
def test_through_manage_py_fails_without_a_traceback(stdin: str, expected: str) -> None:
    done = run_manage("-", stdin=stdin)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip() == expected
    assert "Traceback" not in done.stderr


def test_through_manage_py_missing_file(tmp_path: Path) -> None:
    done = run_manage(str(tmp_path / "absent.json"))
    assert done.returncode == 1
    assert done.stderr.strip() == f"{tmp_path / 'absent.json'}: no such file"
    assert "Traceback" not in done.stderr
