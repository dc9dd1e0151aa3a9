#!/bin/sh
# Entrypoint of localhost/emporium-dev/redis, the local stand-in for redis:7.4-alpine (npm run
# images): Debian's redis-server 7, given the arguments k8s/redis.yaml passes, as the official
# image's entrypoint does (arguments starting with `-`, or a first argument ending in .conf, go
# to redis-server).
#
# The official image is built with protected mode off by default, since a container's clients
# reach it from other addresses; Debian's redis-server keeps it on, and with no password it then
# refuses every client but loopback. `--protected-mode no` comes before the manifest's arguments
# so that they can still set it.
set -eu

# The image's default command is `redis-server`, as the official image's is.
if [ "${1:-}" = redis-server ]; then
  shift
fi
if [ "$#" -gt 0 ]; then
  case $1 in
    *.conf)
      # redis-server reads a configuration file only as its first argument.
      conf=$1
      shift
      exec redis-server "$conf" --protected-mode no "$@"
      ;;
    -*) ;;
    *)
      # A command of its own (e.g. redis-cli): run it as given.
      exec "$@"
      ;;
  esac
fi
exec redis-server --protected-mode no "$@"
