"""airspeed-velocity benchmarks of sliced-bench (run with ``asv run`` from the repository root).

Threads are pinned before NumPy, SciPy or torch is imported (asv imports this package first),
so that CPU figures do not depend on how busy the other cores are.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
