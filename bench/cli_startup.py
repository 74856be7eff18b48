"""How long `nursecase --version` and `nursecase --help` take (target <= 0.25 s).

Runs each command N times in a fresh process and prints the median, next to a
bare `python -c pass` as the floor. Usage: python bench/cli_startup.py [runs]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 0.25


def median_seconds(command: list[str], runs: int) -> float:
    """The median wall time of ``command`` over ``runs`` runs."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Print one line per command."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    script = str(Path(sys.executable).parent / "nursecase")
    floor = median_seconds([sys.executable, "-c", "pass"], runs)
    print(f"python -c pass        {floor:.3f} s (floor)")
    for arguments in (["--version"], ["--help"]):
        seconds = median_seconds([script, *arguments], runs)
        verdict = "ok" if seconds <= TARGET_SECONDS else "OVER"
        print(
            f"nursecase {' '.join(arguments):<11} {seconds:.3f} s"
            f"  ({seconds / TARGET_SECONDS:.2f} x the 0.25 s target) {verdict}"
        )


if __name__ == "__main__":
    main()
