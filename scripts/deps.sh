#!/usr/bin/env bash
# Installs the OS packages the project runs with, if they are missing:
#   deps.sh zookeeper        ZooKeeper (and Java) for `make run`
#   deps.sh all              also the client tools the compat tests drive, and
#                            docker-compose (`make compose-check` validates docker-compose.yml)
set -euo pipefail
want=(zookeeper)
if [ "${1:-zookeeper}" = all ]; then
  want+=(kcat python3-kafka python3-confluent-kafka docker-compose)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing OS packages: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
