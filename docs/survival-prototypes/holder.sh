#!/bin/sh
# Holds one app's output while no daemon reads it. Started by the daemon, detached (its own group).
# $1: the FIFO (kept linked in the state folder); $2: the spool file; $3: bytes to keep before dropping.
# fd 6: the read end of the daemon's lifeline pipe; EOF there means no daemon holds it any more.
exec 5<>"$1"   # a reader and a writer of our own: the app never sees EPIPE, the pipe never reads EOF
read -r _ <&6  # sleeps here, costing nothing, while a daemon lives
exec 6<&-
: >"$2"
# dd writes out the block it read before it obeys SIGINT: nothing read is lost. 16 reads a round
# (dd counts a short read as a block), so the spool ends at most 1 MiB past the limit.
while [ "$(wc -c <"$2")" -lt "$3" ]; do dd bs=64k count=16 <&5 >>"$2" 2>/dev/null || exit 0; done
exec dd bs=64k <&5 of=/dev/null 2>"$2.dropped"
