#!/usr/bin/env bash
# Stop exactly the processes up.sh started (by their pid files).
# --purge also removes CLOUD_DIR; --keep-venv keeps its virtualenv.
set -euo pipefail
exec python3 "$(dirname "$0")/cloud.py" down "$@"
