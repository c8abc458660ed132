"""The pricing benchmark still runs (a few runs; its time is not checked here: the goal is
measured by running it, see the README)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_pricing_benchmark_runs_and_applies_promotions():
    done = subprocess.run(
        [sys.executable, "bench/pricing.py", "--smoke"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "pricing: 50 lines over 5 shops, 20 live promotions, 3 runs" in out
    assert "baseline (no promotion): median " in out and "with promotions: median " in out
    assert "total discount 1992.08" in out
