#!/usr/bin/env bash
# The full-count reliability run documented in docs/reliability.md: 100 seeded SIGKILLs
# of a real `opsbooks run` (resumed each time until it completes) and larger hypothesis
# example counts for the injection and hostile-input properties. CI runs the same tests
# with smaller counts (15 kills, 40 examples). Override any count from the environment:
#   OPSBOOKS_TORTURE_KILLS=300 OPSBOOKS_TORTURE_SEED=11 scripts/torture.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export OPSBOOKS_TORTURE_KILLS="${OPSBOOKS_TORTURE_KILLS:-100}"
export OPSBOOKS_TORTURE_SEED="${OPSBOOKS_TORTURE_SEED:-7}"
export OPSBOOKS_MODEL_EXAMPLES="${OPSBOOKS_MODEL_EXAMPLES:-1000}"
export OPSBOOKS_MODEL_SSHD_EXAMPLES="${OPSBOOKS_MODEL_SSHD_EXAMPLES:-100}"
export OPSBOOKS_PROPERTY_EXAMPLES="${OPSBOOKS_PROPERTY_EXAMPLES:-200}"
exec .venv/bin/pytest tests/reliability -q -p no:cacheprovider -s --durations=10 "$@"
