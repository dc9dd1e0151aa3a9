#!/bin/sh
# Entrypoint of localhost/emporium-dev/kafka, the local stand-in for apache/kafka (npm run
# images). It takes the same environment as the official image's entrypoint, so k8s/kafka.yaml
# runs unchanged:
#   - every KAFKA_<NAME> variable, bar the launcher's own (KAFKA_HEAP_OPTS, KAFKA_OPTS, ...),
#     is the broker property <name>: lower-cased, `___` -> `-`, `__` -> `_`, `_` -> `.`
#     (KAFKA_NODE_ID -> node.id, KAFKA_LISTENERS -> listeners);
#   - CLUSTER_ID names the KRaft cluster (the official image's default when unset);
#   - each directory of KAFKA_LOG_DIRS is formatted when it holds no meta.properties yet, so a
#     restarted pod keeps its topics;
#   - KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_LOG4J_OPTS and KAFKA_OPTS go to the JVM
#     with kafka-server-start.sh's defaults;
# then it runs the broker in the foreground as PID 1's replacement (exec), so SIGTERM reaches it.
#
# Unlike the official image it writes no server.properties: the properties reach the storage
# formatter on its standard input and the broker as --override arguments, so the container
# writes nothing outside its log directories (the manifest's only volume).
#
# KAFKA_ENTRYPOINT_DRY_RUN=1 prints the properties and the commands instead of running them
# (the repository's tests use it).
# No globbing: the JVM options and the classpath wildcard are passed on as written.
set -euf

KAFKA_HOME=${KAFKA_HOME:-/opt/kafka}
# The official image's default cluster id (a fixed one: a one-node dev cluster needs no other).
CLUSTER_ID=${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}

# The broker properties from the environment, one `name=value` a line, sorted.
kafka_properties() {
  env | LC_ALL=C sort | while IFS= read -r line; do
    case $line in
      KAFKA_*=*) ;;
      *) continue ;;
    esac
    name=${line%%=*}
    value=${line#*=}
    case $name in
      # The launcher's own settings (the official image's exclusions), not broker properties.
      KAFKA_VERSION | KAFKA_HEAP_OPTS | KAFKA_LOG4J_OPTS | KAFKA_OPTS | KAFKA_JMX_OPTS | \
        KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_GC_LOG_OPTS | KAFKA_LOG4J_ROOT_LOGLEVEL | \
        KAFKA_LOG4J_LOGGERS | KAFKA_TOOLS_LOG4J_LOGLEVEL | KAFKA_JMX_HOSTNAME | KAFKA_JMX_PORT | \
        KAFKA_HOME | KAFKA_ENTRYPOINT_DRY_RUN)
        continue
        ;;
    esac
    property=$(printf '%s' "${name#KAFKA_}" | tr 'A-Z' 'a-z' |
      sed -e 's/___/-/g' -e 's/__/\x01/g' -e 's/_/./g' -e 's/\x01/_/g')
    printf '%s=%s\n' "$property" "$value"
  done
}

properties=$(kafka_properties)
log_dirs=$(printf '%s\n' "$properties" | sed -n 's/^log\.dirs=//p')
if [ -z "$log_dirs" ]; then
  log_dirs=$(printf '%s\n' "$properties" | sed -n 's/^log\.dir=//p')
fi
if [ -z "$log_dirs" ]; then
  echo "kafka-entrypoint: set KAFKA_LOG_DIRS (the volume the broker keeps its data in)" >&2
  exit 64
fi

# kafka-server-start.sh's and kafka-run-class.sh's defaults.
heap=${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}
performance=${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true}
log4j=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$KAFKA_HOME/config/log4j2.properties}
# Word-split on purpose: each of these holds several JVM options, as the launcher scripts read them.
# -XX:-UsePerfData: no /tmp/hsperfdata_<user> file, so the JVM too writes only to the volume
# (jstat cannot read the broker's counters; JMX and its metrics are unaffected).
# shellcheck disable=SC2086
set -- -XX:-UsePerfData $heap $performance $log4j ${KAFKA_OPTS:-} -cp "$KAFKA_HOME/libs/*"

run() {
  if [ "${KAFKA_ENTRYPOINT_DRY_RUN:-}" = 1 ]; then
    printf '%s\n' "$*"
  else
    "$@"
  fi
}

if [ "${KAFKA_ENTRYPOINT_DRY_RUN:-}" = 1 ]; then
  printf '%s\n' "$properties"
fi

# Format each log directory that is not formatted yet (the official image formats on every
# start with --ignore-formatted; checking first skips a JVM start on a restart).
unformatted=
old_ifs=$IFS
IFS=,
for dir in $log_dirs; do
  [ -f "$dir/meta.properties" ] || unformatted=1
done
IFS=$old_ifs
if [ -n "$unformatted" ]; then
  # `--cluster-id=` form: an id may start with '-' and would read as an option.
  printf '%s\n' "$properties" |
    run java "$@" kafka.tools.StorageTool format --ignore-formatted \
      "--cluster-id=$CLUSTER_ID" --config /dev/stdin
fi

# The broker: an empty properties file, then every property as an override.
overrides=$(printf '%s\n' "$properties" | sed 's/^/--override\n/')
old_ifs=$IFS
IFS='
'
# shellcheck disable=SC2086
set -- "$@" kafka.Kafka "$KAFKA_HOME/config/empty.properties" $overrides
IFS=$old_ifs
if [ "${KAFKA_ENTRYPOINT_DRY_RUN:-}" = 1 ]; then
  printf 'java %s\n' "$*"
  exit 0
fi
exec java "$@"
