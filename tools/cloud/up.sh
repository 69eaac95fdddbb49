#!/usr/bin/env bash
# Build (if needed) and start the one-machine OpenStack; idempotent.
# CLOUD_DIR (default: .cloud in the repository) holds everything it makes.
set -euo pipefail
exec python3 "$(dirname "$0")/cloud.py" up "$@"
