#!/usr/bin/env bash
# Installs the OS packages the project runs with, if they are missing:
#   deps.sh zookeeper        ZooKeeper (and Java) for `make run`
#   deps.sh all              also the client tools the compat tests drive (and the kafkajs
#                            driver's npm packages, npm ci), and docker-compose
#                            (`make compose-check` validates docker-compose.yml), a
#                            Python virtual environment var/pyenv-kafka-python with a newer
#                            kafka-python from PyPI (compat-tests/version_inference_test.go),
#                            and Apache Kafka 3.9 from Maven Central in var/kafka-3.9/lib
#                            (the reference broker and Kafka's own tools; compat-tests/java)
#                            and the Java matrix driver built against kafka-clients 3.9.2 and
#                            4.4.0 in var/java-driver-<version> (compat-tests/java/driver)
set -euo pipefail
want=(zookeeper)
if [ "${1:-zookeeper}" = all ]; then
  want+=(kcat python3-kafka python3-confluent-kafka docker-compose)
  # kafka-python's optional codecs, for the client matrix (compat-tests/clients)
  want+=(python3-snappy python3-lz4 python3-zstandard)
  # python3 -m venv for the kafka-python 3.x environment below
  want+=(python3-venv)
  command -v npm >/dev/null || want+=(nodejs npm)
  command -v mvn >/dev/null || want+=(maven)
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
# kafka-python 3.x, pinned, in a project-local virtual environment (git-ignored var/):
# the Debian python3-kafka (2.0.2) infers broker versions only up to 2.4, this one up
# to 4.x, so it shows which Kafka version our ApiVersions answer looks like. Built
# with the OS python3, as the invoking user (no sudo); skipped when that version is there.
if [ "${1:-zookeeper}" = all ]; then
  kafka_python=3.0.12
  venv="$(cd "$(dirname "$0")/.." && pwd)/var/pyenv-kafka-python"
  have="$("$venv/bin/python" -c 'import kafka; print(kafka.__version__)' 2>/dev/null || true)"
  if [ "$have" != "$kafka_python" ]; then
    echo "kafka-python $kafka_python into $venv" >&2
    # (re)created when missing or broken, e.g. after an OS python upgrade
    "$venv/bin/python" -c '' 2>/dev/null || /usr/bin/python3 -m venv --clear "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "kafka-python==$kafka_python" >/dev/null
  fi
fi
# Apache Kafka 3.9 (compat-tests/java/kafka39/pom.xml) with its runtime dependencies, copied from
# Maven Central (through ~/.m2) into var/kafka-3.9/lib; redone when the pom is newer than the copy.
if [ "${1:-zookeeper}" = all ]; then
  root="$(cd "$(dirname "$0")/.." && pwd)"
  pom="$root/compat-tests/java/kafka39/pom.xml"
  lib="$root/var/kafka-3.9/lib"
  if [ ! -e "$lib/.complete" ] || [ "$pom" -nt "$lib/.complete" ]; then
    echo "Apache Kafka 3.9 from Maven Central into $lib" >&2
    rm -rf "$lib"
    mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$lib" >/dev/null
    touch "$lib/.complete"
  fi
fi
# The Java client's matrix driver and Kafka Streams word count (compat-tests/java/driver), built once per
# client line against kafka-clients/kafka-streams of that version into var/java-driver-<version>: driver.jar
# plus lib/ (its runtime classpath). Redone when a source or the pom is newer than the build.
if [ "${1:-zookeeper}" = all ]; then
  root="$(cd "$(dirname "$0")/.." && pwd)"
  src="$root/compat-tests/java/driver"
  for v in 3.9.2 4.4.0; do
    out="$root/var/java-driver-$v"
    if [ ! -e "$out/.complete" ] || [ -n "$(find "$src/pom.xml" "$src/src" -newer "$out/.complete" -print -quit)" ]; then
      echo "Java matrix driver against kafka-clients $v into $out" >&2
      rm -rf "$out"
      mvn -q -B -Dstyle.color=never -f "$src/pom.xml" -Dkafka.clients.version="$v" -Ddriver.build.dir="$out/build" \
        package dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$out/lib" >/dev/null
      mv "$out/build/driver.jar" "$out/driver.jar"
      rm -rf "$out/build"
      touch "$out/.complete"
    fi
  done
fi
