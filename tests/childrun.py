"""Extract one file in a fresh process and report its outcome and its own peak memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_SCRIPT = """
import json, re, resource, sys
from pathlib import Path
from extractors.api import extract_file
result = extract_file(sys.argv[1])
# VmHWM: this process image's own peak (ru_maxrss would include the forking parent's)
status = Path("/proc/self/status").read_text()
own_peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
peak = max(own_peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"status": str(result.status), "errors": [e.to_json() for e in result.errors],
                  "peak_kb": peak}))
"""


def extract_measured(path: Path, timeout: float = 300) -> dict[str, Any]:
    """{"status", "errors" (as JSON), "peak_kb"} of `extract_file(path)` in a new process."""
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(path)], capture_output=True,
                          text=True, timeout=timeout, check=True, cwd=ROOT)
    found: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return found
