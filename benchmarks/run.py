"""``make bench``: the benchmarks that need no service stack, with their default settings.

``benchmarks.bench_operations`` (maintenance and compile over a synthetic estate) needs the
local stack and runs on its own: ``.venv/bin/python -m benchmarks.bench_operations``.
"""

import tools  # noqa: F401  (the repository as the package ``ls4``)
from benchmarks import bench_makecog

if __name__ == "__main__":
    bench_makecog.main()
