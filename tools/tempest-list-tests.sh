#!/usr/bin/env bash
# Check that Tempest finds the plugin's tests: write a minimal tempest.conf
# into a throwaway workspace and list the tests matching the regex (default:
# every test of the plugin). Fails if none is listed, e.g. because the
# tempest.test_plugins entry point is missing or a test module does not
# import. Needs tempest and nova-delete-ext installed in the environment.
set -euo pipefail

regex=${1:-^nova_delete_ext\.tests\.tempest\.}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir "$work/config"
cat > "$work/config/tempest.conf" <<CONF
[delete_ext_feature_enabled]
protect = true
recycle = true
capture = true
verify = true
CONF

tempest init --config-dir "$work/config" \
    --workspace-path "$work/workspace.yaml" "$work/cloud" >/dev/null
cd "$work/cloud"
tempest run --config-file "$work/cloud/etc/tempest.conf" \
    --list-tests --regex "$regex" > "$work/list.txt"

tests=$(grep -c '^nova_delete_ext\.tests\.tempest\.' "$work/list.txt" || true)
if [[ "$tests" -eq 0 ]]; then
    cat "$work/list.txt" >&2
    echo "tempest listed no test matching '$regex'" >&2
    exit 1
fi
grep '^nova_delete_ext\.tests\.tempest\.' "$work/list.txt"
echo "$tests tempest tests listed"
