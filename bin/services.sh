# Shared by bin/with-services (throwaway servers for `make test`) and bin/run-dev (the kept
# servers of `make run`): start and stop a PostgreSQL and a Redis from the machine's
# packages in a folder of our own. Source it; it defines functions only.
#   services_pg_start DATA PORT [postgres -c options...]   initdb when DATA is new, start, create "marketplace"
#   services_pg_stop DATA
#   services_redis_start DIR PORT [redis-server options...]
#   services_redis_stop DIR

services_bin="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# PostgreSQL refuses to run as root: run it as the postgres (or nobody) user then.
services_as_pg=()
services_pg_user=""
if [[ "$(id -u)" == "0" ]]; then
  services_pg_user="postgres"
  id "$services_pg_user" >/dev/null 2>&1 || services_pg_user="nobody"
  services_as_pg=(runuser -u "$services_pg_user" --)
fi

services_pg_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then echo "$dir"; return; fi
  done
  dirname "$(command -v initdb)"
}

services_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

services_pg_start() {
  local data="$1" port="$2"
  shift 2
  local pg_bin
  pg_bin="$(services_pg_bin)"
  mkdir -p "$data"
  if [[ -n "$services_pg_user" ]]; then chown -R "$services_pg_user" "$data"; fi
  chmod 700 "$data"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    "${services_as_pg[@]}" "$pg_bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$data/../initdb.log" 2>&1 || { cat "$data/../initdb.log" >&2; return 1; }
  fi
  if ! "${services_as_pg[@]}" "$pg_bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    local options="-p $port -k $data -c listen_addresses=127.0.0.1"
    local option
    for option in "$@"; do options+=" -c $option"; done
    "${services_as_pg[@]}" "$pg_bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 -o "$options" start >/dev/null \
      || { tail -n 20 "$data/server.log" >&2; return 1; }
  fi
  local exists
  exists="$("${services_as_pg[@]}" "$pg_bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'marketplace'")"
  if [[ "$exists" != "1" ]]; then
    "${services_as_pg[@]}" "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres marketplace
  fi
}

services_pg_stop() {
  local data="$1" mode="${2:-fast}"
  [[ -f "$data/postmaster.pid" ]] || return 0
  "${services_as_pg[@]}" "$(services_pg_bin)/pg_ctl" -D "$data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 || true
}

services_redis_start() {
  local dir="$1" port="$2"
  shift 2
  mkdir -p "$dir"
  if [[ -f "$dir/redis.pid" ]] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then return 0; fi
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "$@"
  local _
  for _ in $(seq 1 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  tail -n 20 "$dir/redis.log" >&2
  return 1
}

services_redis_stop() {
  local dir="$1" pid _
  [[ -f "$dir/redis.pid" ]] || return 0
  pid="$(cat "$dir/redis.pid")"
  # SIGTERM: Redis saves its snapshot (when configured to) and exits.
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}
