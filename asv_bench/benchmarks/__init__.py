"""airspeed-velocity benchmarks of sliced-bench (run with ``asv run`` from the repository root).

Under asv (which sets ``ASV=true`` in its benchmark processes) threads are pinned before NumPy,
SciPy or torch is imported, so that CPU figures do not depend on how busy the other cores
are. Elsewhere (``sliced-bench curves`` imports this package into a process that goes on to
other work) nothing is changed at import; the sweep pins torch's threads while it runs.
"""

import os

if os.environ.get("ASV") == "true":
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
