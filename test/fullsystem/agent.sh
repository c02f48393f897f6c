#!/bin/sh
# The guest agent: for each /mnt/kt/cmd/N.sh (written by the host, renamed into place), runs
# it once with output in /mnt/kt/out/N.out and the exit status in /mnt/kt/out/N.rc (renamed
# into place last). Commands run one at a time, in name order.
mkdir -p /mnt/kt/out
echo "$(cut -d' ' -f1 /proc/uptime) $(cat /proc/sys/kernel/random/boot_id)" > /mnt/kt/out/agent.up.tmp
mv /mnt/kt/out/agent.up.tmp /mnt/kt/out/agent.up
while :; do
  for f in /mnt/kt/cmd/*.sh; do
    [ -e "$f" ] || continue
    n=$(basename "$f" .sh)
    [ -e "/mnt/kt/out/$n.rc" ] && continue
    /bin/sh "$f" > "/mnt/kt/out/$n.out" 2>&1 < /dev/null
    echo $? > "/mnt/kt/out/$n.rc.tmp"
    mv "/mnt/kt/out/$n.rc.tmp" "/mnt/kt/out/$n.rc"
  done
  sleep 0.2
done
