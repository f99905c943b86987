"""Cross-checks, statistical checks, the RAE harness and the ``sliced-bench`` command line."""
