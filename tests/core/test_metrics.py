from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.databases import ROOT


def test_a_multiprocess_directory_that_does_not_exist_stops_the_start(tmp_path: Path) -> None:
    missing = tmp_path / "not-there"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(missing)}

    done = subprocess.run(
        [sys.executable, "-c", "import api.main"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode != 0
    assert f"PROMETHEUS_MULTIPROC_DIR={missing} is not a directory" in done.stderr
