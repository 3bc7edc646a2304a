#!/usr/bin/env bash
# Builds the collection voipguard.asterisk (galaxy.yml) from the repository's top-level layout:
#   roles/ -> roles/, library/ -> plugins/modules/, module_utils/ -> plugins/module_utils/,
#   callback_plugins/ -> plugins/callback/, lookup_plugins/ -> plugins/lookup/,
#   action_plugins/ -> plugins/action/, playbooks/.
# Modules import their helpers as ansible.module_utils.<name> (how a playbook next to library/
# loads them); in the collection they become the collection's own module_utils.
#   scripts/build-collection.sh [OUTPUT_DIR]      prints the tarball's path
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$REPO/artifacts/collection}
PATH=$REPO/.venv/bin:$PATH
namespace=$(sed -n 's/^namespace: *//p' "$REPO/galaxy.yml")
name=$(sed -n 's/^name: *//p' "$REPO/galaxy.yml")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
tree=$stage/ansible_collections/$namespace/$name
mkdir -p "$tree/plugins" "$tree/meta" "$OUT"
cp "$REPO/galaxy.yml" "$REPO/README.md" "$tree/"
cp -r "$REPO/roles" "$REPO/playbooks" "$tree/"
# playbooks/callback_plugins links to the top-level callbacks; the collection has them in plugins/.
rm -f "$tree/playbooks/callback_plugins"
cp -r "$REPO/library" "$tree/plugins/modules"
cp -r "$REPO/module_utils" "$tree/plugins/module_utils"
cp -r "$REPO/callback_plugins" "$tree/plugins/callback"
cp -r "$REPO/lookup_plugins" "$tree/plugins/lookup"
cp -r "$REPO/action_plugins" "$tree/plugins/action"
find "$tree" -name __pycache__ -prune -exec rm -rf {} +
cp "$REPO/meta/runtime.yml" "$tree/meta/runtime.yml"
own=$(cd "$REPO/module_utils" && ls ./*.py | sed 's|^\./||; s|\.py$||' | paste -sd'|')
find "$tree/plugins" -name '*.py' -exec sed -i -E \
  "s/ansible\.module_utils\.($own)\b/ansible_collections.$namespace.$name.plugins.module_utils.\1/g" {} +
ansible-galaxy collection build --force --output-path "$OUT" "$tree" >/dev/null
echo "$OUT/$namespace-$name-$(sed -n 's/^version: *//p' "$REPO/galaxy.yml").tar.gz"
