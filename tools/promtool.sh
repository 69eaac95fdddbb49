#!/bin/bash
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

# Check the Prometheus rules and run their unit tests with Prometheus' own
# promtool, and parse every query of the Grafana dashboard with it
# (tox -e promtool).
#
# promtool comes with Debian's and Ubuntu's "prometheus" package. When it
# is missing this script installs that package if it runs as root on a
# system with apt-get (set PROMTOOL_NO_INSTALL=1 to forbid it), and
# otherwise says how to get it. PROMTOOL=/path/to/promtool uses another
# one (for example from a release tarball of prometheus.io).
set -eu

cd "$(dirname "$0")/.."
PROMTOOL=${PROMTOOL:-promtool}

if ! command -v "$PROMTOOL" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 &&
            [ -z "${PROMTOOL_NO_INSTALL:-}" ]; then
        echo "promtool not found: installing Debian's prometheus package" >&2
        # Its service is not needed: only promtool is.
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends prometheus
    else
        cat >&2 <<'MSG'
promtool not found. Install it with your distribution's Prometheus package
(Debian, Ubuntu: "sudo apt-get install prometheus"), or take it from a
release tarball of https://prometheus.io/download/ and run again with
PROMTOOL=/path/to/promtool.
MSG
        exit 1
    fi
fi

"$PROMTOOL" --version 2>&1 | head -1
"$PROMTOOL" check rules etc/prometheus/*.rules.yml
"$PROMTOOL" test rules etc/prometheus/tests/*.yml
python3 tools/check_dashboard.py --promtool "$(command -v "$PROMTOOL")"
