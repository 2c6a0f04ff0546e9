#!/bin/sh
# Holds one child's output while no daemon reads it (docs/SURVIVAL.md, section 2). Started by the
# daemon right after the child, detached (its own group), with BST_HOLDER=<stateDir> in its env.
# $1, $2: the child's stdout and stderr FIFOs; $3: the child's pid; $4: bytes to spool per FIFO.
# stdin: the read end of the daemon's lifeline; EOF there means no daemon holds its write end.
limit=$4
# a reader and a writer of our own: the child never sees EPIPE, the pipes never read EOF
exec 5<>"$1" 7<>"$2"
# sleeps here, costing nothing, while a daemon lives; the daemon ends us when the child exits
read -r _ || :
exec 0</dev/null
# The next daemon stops each dd with SIGINT while it sleeps in a read (holder.ts), and dd then
# prints its count. A background job ignores SIGINT, so dd gets the default back where env can.
dfl=
if env --default-signal=INT true 2>/dev/null; then dfl='env --default-signal=INT'; fi
hold() {
  : >"$2"
  # 16 reads a round (a short read counts as a block): the spool ends at most 1 MiB past the limit
  while [ "$(wc -c <"$2")" -lt "$limit" ]; do
    $dfl dd bs=64k count=16 <&"$1" >>"$2" 2>/dev/null || exit 0
  done
  exec $dfl dd bs=64k of=/dev/null <&"$1" 2>"$2.dropped"
}
hold 5 "$1.spool" &
hold 7 "$2.spool" &
exec 5<&- 7<&-
# a child gone while no daemon runs: nobody writes to these pipes again, nor comes to read them
while kill -0 "$3" 2>/dev/null; do sleep 5; done
kill -TERM 0
