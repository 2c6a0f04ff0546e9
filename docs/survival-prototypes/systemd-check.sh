#!/bin/sh
# Inside the container: the toy daemon under systemd, through an upgrade and a kill -9.
# Run it inside the container of /work/shared/SYSTEMD-IN-A-CONTAINER.md, with this folder bound at
# /opt/proto (--bind=<this folder>:/opt/proto) and node at /usr/bin/node: nsenter -t <init> -a /opt/proto/systemd-check.sh
set -u
cp /opt/proto/toy.socket /opt/proto/toy.service /etc/systemd/system/ && systemctl daemon-reload
rm -rf /var/lib/toy; systemctl start toy.socket toy.service; sleep 1
main() { systemctl show -p MainPID --value toy.service; }
app() { sed 's/.*"pid":\([0-9]*\).*/\1/' /var/lib/toy/state.json; }
echo "start: main=$(main) app=$(app) active=$(systemctl is-active toy.service)"
PORT=8181 DURATION=9000 node /opt/proto/load.mjs > /tmp/load.json &
LOAD=$!
sleep 1; M0=$(main); systemctl reload toy.service; sleep 1
echo "after reload: main $M0 -> $(main) app=$(app) active=$(systemctl is-active toy.service)"
sleep 1; M1=$(main); kill -9 "$M1"; sleep 0.3
echo "0.3 s after kill -9 of $M1: app $(app) alive=$(test -d /proc/$(app) && echo yes || echo no) state=$(systemctl is-active toy.service)"
sleep 3
echo "after restart: main=$(main) app=$(app) active=$(systemctl is-active toy.service)"
wait $LOAD; echo "load: $(cat /tmp/load.json)"
echo "cgroup:"; cat /sys/fs/cgroup/system.slice/toy.service/cgroup.procs | while read p; do echo "  $p $(tr '\0' ' ' </proc/$p/cmdline | cut -c1-60)"; done
cut -d' ' -f3- /var/lib/toy/daemon.log
journalctl -u toy.service --no-pager | grep -v "^--" | cut -c17- | tail -12
