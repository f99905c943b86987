#!/usr/bin/env bash
# Mutation testing with mutmut 3 (configuration: [tool.mutmut] in pyproject.toml; what the
# numbers mean: docs/mutation.md).
#
#   scripts/mutation.sh samplers/mixture.py [discrepancies/fused.py ...]   those modules
#   scripts/mutation.sh all                                                 the eleven modules
#   scripts/mutation.sh --sample N module [module ...]                      a seeded uniform
#                                                                           sample of N mutants
#                                                                           of each module
#   scripts/mutation.sh --summary [module ...]                              counts only, no run
#
# Needs the `mutation` extra (.venv/bin/python -m pip install -e ".[mutation]"). Runs under
# `nice -n 15` (a campaign takes minutes per module on two cores), in mutants/ at the
# repository root, which mutmut reuses: a second run tests only the mutants of changed
# functions and the ones not yet decided. Prints, per module, the counts by mutmut's verdict
# and the wall time of its run.
set -euo pipefail
cd "$(dirname "$0")/.."
MODULES=(samplers/mixture.py samplers/power_spherical.py samplers/sphere.py samplers/bessel.py
         samplers/von_mises_fisher.py discrepancies/fused.py discrepancies/_ascent.py
         discrepancies/sliced.py discrepancies/slicing.py discrepancies/_slices.py
         discrepancies/spherical.py)
run=1
size=""
if [ "${1:-}" = "--summary" ]; then run=0; shift; fi
if [ "${1:-}" = "--sample" ]; then size="$2"; shift 2; fi
if [ $# -eq 0 ] || [ "$1" = "all" ]; then set -- "${MODULES[@]}"; fi
for module in "$@"; do
    case " ${MODULES[*]} " in
        *" $module "*) ;;
        *) echo "mutation.sh: unknown module '$module' (one of: ${MODULES[*]})" >&2; exit 2 ;;
    esac
done
for module in "$@"; do
    # mutmut names a mutant <dotted module>.<function>__mutmut_<i>
    pattern="$(basename "${module%.py}")"
    pattern="$(dirname "$module").${pattern}.*"
    targets=("$pattern")
    if [ -n "$size" ]; then
        mapfile -t targets < <(.venv/bin/python scripts/mutation_summary.py "$module" \
                                   --sample "$size")
        # no names would make `mutmut run` run every mutant of every module
        if [ "${#targets[@]}" -eq 0 ]; then
            echo "mutation.sh: no mutants to sample for $module (run it once in full first)" >&2
            exit 1
        fi
    fi
    seconds=""
    if [ "$run" = 1 ]; then
        log="mutants/run-${pattern%.\*}.log"
        mkdir -p mutants
        start=$(date +%s)
        # mutmut draws a progress spinner: keep it in the log
        if ! HYPOTHESIS_PROFILE=mutation nice -n 15 .venv/bin/mutmut run "${targets[@]}" \
                >"$log" 2>&1; then
            tail -n 30 "$log" >&2
            echo "mutation.sh: mutmut failed on $module (log: $log)" >&2
            exit 1
        fi
        seconds=$(( $(date +%s) - start ))
    fi
    .venv/bin/python scripts/mutation_summary.py "$module" ${seconds:+--seconds "$seconds"}
done
