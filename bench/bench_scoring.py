"""How fast does one process parse and score CLASI examinations? (issue 3)

    .venv/bin/python bench/bench_scoring.py [--count 100000] [--seed 2012]

Generates random VALID exchange-format examinations with a seeded
random.Random (so every run times the same work), then times parse + score
of all of them with time.perf_counter.  Generation is not timed; a parse-only pass
shows how the time splits between validating and scoring.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clinical.instruments.exam import parse_exam, score  # noqa: E402
from clinical.instruments.instrument import Instrument  # noqa: E402
from clinical.instruments.clasi import CLASI  # noqa: E402


def random_exam(rng: random.Random, instrument: Instrument = CLASI) -> dict[str, Any]:
    """An examination as a clinician writes it: some areas, some items."""
    areas: dict[str, dict[str, int]] = {}
    for area in instrument.areas:
        if rng.random() < 0.5:
            areas[area.key] = {
                key: rng.choice(instrument.item(key).values)
                for key in instrument.applicable[area.key]
                if rng.random() < 0.7
            }
    exam: dict[str, Any] = {"instrument": instrument.name, "areas": areas}
    for item in instrument.exam_items:
        if rng.random() < 0.7:
            exam[item.key] = rng.choice(item.values)
    if rng.random() < 0.7:
        exam[instrument.modifier.key] = rng.random() < 0.5
    return exam


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2012)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    exams = [random_exam(rng) for _ in range(args.count)]

    # Stream, as an import or a recomputation does: parse, score, keep the
    # numbers.  (Holding 100,000 Exam objects alive at once mostly times the
    # memory allocator, not the scorer.)
    start = time.perf_counter()
    activity = damage = 0
    for data in exams:
        result = score(parse_exam(data))
        activity += result.activity
        damage += result.damage
    total = time.perf_counter() - start

    start = time.perf_counter()
    for data in exams:
        parse_exam(data)
    parse_only = time.perf_counter() - start

    print(f"{args.count} examinations (seed {args.seed}), one process:")
    print(f"  parse + score {total:8.3f} s = {args.count / total:,.0f} examinations/second")
    print(f"  (parse alone  {parse_only:8.3f} s; score alone ~{total - parse_only:.3f} s)")
    print(f"  checksum: activity {activity}, damage {damage}")


if __name__ == "__main__":
    main()
