#!/usr/bin/env bash
# The demo: a self-contained config under examples/demo/ (state, logs and releases in the git-ignored
# examples/demo/run/) that supervises the example core API and a redis-server, deploys two releases
# of a local git repository, and rolls back. Leaves the daemon running; `npm run demo:stop` ends it.
set -euo pipefail
cd "$(dirname "$0")"
unset NODE_EXTRA_CA_CERTS
bst() { node ../../dist/src/cli/bin.cjs -c bst.supervisor.json "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
health() { node -e 'fetch("http://127.0.0.1:3190/health").then(r=>r.text()).then(t=>console.log(t))'; }
export GIT_CONFIG_GLOBAL=/dev/null GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@localhost
export GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@localhost

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "redis-server is missing: sudo apt-get install -y redis-server" >&2
    exit 1
  fi
fi

step "a fresh demo folder (run/)"
if bst ping >/dev/null 2>&1; then bst shutdown; fi
rm -rf run
mkdir -p run/src run/core-api-prod/shared
(cd ../core-api && tar --exclude=dist -cf - .) | tar -xf - -C run/src
git -C run/src init -q -b main
git -C run/src add -A
git -C run/src commit -qm "core-api 1.0.0"

secret() { node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("hex"))'; }
umask 077
cat > run/core-api-prod/shared/.env <<ENV
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
umask 022

step "config check"
bst config check
step "daemon (redis starts; the core API waits for its first release)"
bst daemon
bst status

step "deploy 1.0.0"
bst deploy core-api-prod --batch demo
health

step "deploy 1.1.0 (a second commit)"
sed -i "s/?? '1.0.0'/?? '1.1.0'/" run/src/src/main.js
git -C run/src commit -qam "core-api 1.1.0"
bst deploy core-api-prod --batch demo
bst list core-api-prod
health

step "rollback drill: to the previous release and back, health and smoke at each step"
bst drill core-api-prod --batch demo

step "release-gate evidence of the batch"
bst evidence core-api-prod --batch demo

step "rollback to the previous release"
bst rollback core-api-prod
bst list core-api-prod
bst status
health

step "smoke: the signed ingest handshake against the live release"
bst smoke core-api-prod

step "canary flags off: the fastest rollback (env file backed up, the target reloaded)"
bst flags core-api-prod off
bst flags core-api-prod

step "redis status"
bst redis status core-api-prod || true

step "last log lines"
bst logs core-api-prod/core-api -n 5

printf '\nThe daemon keeps running. Try: node dist/src/cli/bin.cjs -c examples/demo/bst.supervisor.json status\n' >&2
printf 'Stop it with: npm run demo:stop\n' >&2
