#!/usr/bin/env bash
# The demo: a self-contained config under examples/demo/run/ (git-ignored) that supervises the example
# core API and a redis-server. Leaves the daemon running; `npm run demo:stop` ends it.
set -euo pipefail
cd "$(dirname "$0")"
unset NODE_EXTRA_CA_CERTS
bst() { node ../../dist/src/cli/main.js -c bst.supervisor.json "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "redis-server is missing: sudo apt-get install -y redis-server" >&2
    exit 1
  fi
fi

env_file=run/core-api-prod/shared/.env
if [ ! -f "$env_file" ]; then
  mkdir -p "$(dirname "$env_file")"
  secret() { node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("hex"))'; }
  umask 077
  cat > "$env_file" <<ENV
OPS_DB_URL=postgres://demo@127.0.0.1:5432/ops
CHANNEL_DB_URL=postgres://demo@127.0.0.1:5432/channel
REDIS_URL=redis://127.0.0.1:6390/0
INGEST_REDIS_URL=redis://127.0.0.1:6390/1
CORE_API_ADMIN_TOKEN=$(secret)
INGEST_SERVICE_TOKEN=$(secret)
INGEST_SERVICE_SECRET=$(secret)
INGEST_WEBHOOK_ENABLED=true
INGEST_REPLAY_ENABLED=false
OPS_READ_NEW_MODEL_BOOKINGS=true
OPS_WRITE_CORE_BOOKINGS=false
ENV
fi

step "config check"
bst config check
step "daemon"
bst ping >/dev/null 2>&1 || bst daemon
step "start (processes stopped earlier stay stopped until started)"
bst start
step "status"
bst status
step "the core API answers"
node -e 'fetch("http://127.0.0.1:3190/health").then(r=>r.text()).then(t=>console.log(t))'
step "last log lines"
bst logs core-api-prod/core-api -n 5
printf '\nThe daemon keeps running. Try: node dist/src/cli/main.js -c examples/demo/bst.supervisor.json status\n' >&2
printf 'Stop it with: npm run demo:stop\n' >&2
