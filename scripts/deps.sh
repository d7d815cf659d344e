#!/usr/bin/env bash
# Installs the OS packages the project runs with, if they are missing:
#   deps.sh zookeeper        ZooKeeper (and Java) for `make run`
#   deps.sh all              also the client tools the compat tests drive (and the kafkajs
#                            driver's npm packages, npm ci), and docker-compose
#                            (`make compose-check` validates docker-compose.yml)
set -euo pipefail
want=(zookeeper)
if [ "${1:-zookeeper}" = all ]; then
  want+=(kcat python3-kafka python3-confluent-kafka docker-compose)
  # kafka-python's optional codecs, for the client matrix (compat-tests/clients)
  want+=(python3-snappy python3-lz4 python3-zstandard)
  command -v npm >/dev/null || want+=(nodejs npm)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing OS packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The kafkajs driver's npm packages, as locked, when missing or older than the lock file.
if [ "${1:-zookeeper}" = all ]; then
  js="$(dirname "$0")/../compat-tests/kafkajs"
  if [ ! -e "$js/node_modules/.package-lock.json" ] || [ "$js/package-lock.json" -nt "$js/node_modules/.package-lock.json" ]; then
    echo "npm ci in compat-tests/kafkajs" >&2
    (cd "$js" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi
