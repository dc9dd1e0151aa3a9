#!/bin/sh
# Entrypoint of localhost/emporium-dev/ferretdb, the local stand-in for mongo:8.0 (npm run
# images): FerretDB on its SQLite backend, the MongoDB-compatible server the local stack runs.
#
# k8s/mongodb.yaml passes mongod's arguments (`--bind_ip_all --wiredTigerCacheSizeGB 0.25`);
# they mean nothing to FerretDB, which is why they are accepted and ignored here: it always
# listens on every interface, port 27017, as mongod does with --bind_ip_all. Its data, one
# SQLite file a database, goes to /data/db, the volume the manifest mounts, and so does its
# small state file (in .ferretdb-state, which the SQLite backend does not read as a database),
# so the container writes nowhere else.
set -eu

DATA_DIR=${FERRETDB_DATA_DIR:-/data/db}
mkdir -p "$DATA_DIR/.ferretdb-state"
exec /usr/local/bin/ferretdb \
  --handler=sqlite \
  "--sqlite-url=file:$DATA_DIR/" \
  "--state-dir=$DATA_DIR/.ferretdb-state" \
  --listen-addr=0.0.0.0:27017 \
  --telemetry=disable \
  --log-format=json
