"""airspeed-velocity benchmarks (asv_bench/benchmarks) and the curves drawn from their results."""
