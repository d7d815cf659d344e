#!/usr/bin/env bash
# make run: ZooKeeper on 127.0.0.1:2181 (data under ./var/zookeeper) and one
# broker on 127.0.0.1:9092 (logs under ./var/kafka-logs). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh zookeeper
mkdir -p var/zookeeper
cat > var/zookeeper/zoo.cfg <<CFG
tickTime=2000
dataDir=$PWD/var/zookeeper/data
clientPort=2181
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
CFG
cp=/usr/share/java/zookeeper.jar
[ -f /usr/share/java/slf4j-simple.jar ] && cp="$cp:/usr/share/java/slf4j-simple.jar"
java -Xmx256m -Dzookeeper.log.dir="$PWD/var/zookeeper" -cp "$cp" \
  org.apache.zookeeper.server.quorum.QuorumPeerMain var/zookeeper/zoo.cfg > var/zookeeper/zookeeper.log 2>&1 &
zk=$!
broker=""
stop() {
  trap - INT TERM EXIT
  [ -n "$broker" ] && kill -TERM "$broker" 2>/dev/null && wait "$broker" 2>/dev/null || true
  kill -TERM "$zk" 2>/dev/null && wait "$zk" 2>/dev/null || true
}
trap stop INT TERM EXIT
zk_ok() { (exec 3<>/dev/tcp/127.0.0.1/2181 && printf ruok >&3 && head -c4 <&3) 2>/dev/null; }
for _ in $(seq 1 150); do
  if [ "$(zk_ok)" = imok ]; then break; fi
  kill -0 "$zk" 2>/dev/null || { echo "ZooKeeper failed to start; see var/zookeeper/zookeeper.log" >&2; exit 1; }
  sleep 0.2
done
echo "ZooKeeper is up on 127.0.0.1:2181 (log: var/zookeeper/zookeeper.log)"
bin/kafka-server-start.sh config/server.properties &
broker=$!
wait "$broker"
