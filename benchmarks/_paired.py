"""Paired whole-process timings: a command against its baseline, in turn, as a ratio per pair.

A shared machine drifts in speed over a run; timing a baseline and a candidate in alternation and taking
the median of the per-pair ratios keeps a comparison honest where two separate series would not. The
figure is each process's CPU seconds (user + system, the kernel's accounting of the finished child):
on a machine shared with other jobs, wall time mostly measures the others.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Paired:
    """Whole-process CPU seconds of a baseline and each candidate, run in turn ``runs`` times."""

    baseline: list[float]
    candidates: dict[str, list[float]]

    def median(self, label: str | None = None) -> float:
        """Median seconds of a candidate, or of the baseline when ``label`` is None."""
        return statistics.median(self.baseline if label is None else self.candidates[label])

    def ratio(self, label: str) -> float:
        """Median of the per-run ratios candidate / baseline (each pair ran back to back)."""
        return statistics.median(c / b for c, b in zip(self.candidates[label], self.baseline, strict=True))


def cpu(argv: Sequence[str], env: Mapping[str, str] | None = None) -> float:
    """CPU seconds (user + system) that ``argv`` used from start to exit (the process must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env, cwd="/")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def paired(
    baseline: Sequence[str],
    candidates: Mapping[str, Sequence[str]],
    *,
    runs: int = 11,
    warmup: int = 1,
    env: Mapping[str, str] | None = None,
) -> Paired:
    """Run the baseline then every candidate, ``runs`` times after ``warmup`` uncounted rounds."""
    env = dict(os.environ if env is None else env)
    base: list[float] = []
    found: dict[str, list[float]] = {label: [] for label in candidates}
    for round_ in range(warmup + runs):
        seconds = cpu(baseline, env)
        timed = {label: cpu(argv, env) for label, argv in candidates.items()}
        if round_ >= warmup:
            base.append(seconds)
            for label, value in timed.items():
                found[label].append(value)
    return Paired(base, found)
