#!/bin/bash
# guest.sh - runs inside the kernel tier's VM (as root, on a throwaway tmpfs
# overlay of the host's /).  Sets up ifupdown2 and fake NICs, then runs each
# step in /mnt/kt/steps/NNN/ in order and leaves its results, as raw files, in
# /mnt/kt/out/NNN/ for the host harness (harness.ts) to read:
#   etc/        -> replaces /etc/network/interfaces (+ interfaces.d/)
#   ifreload    -> `ifreload <its content>`: ifreload.rc, ifreload.log
#   script      -> `bash script` in /mnt/scratch: script.rc/.out/.err
#   check       -> `ifquery --check -a -o json`: check.rc, check.json, check.err
#   dump        -> link.json addr.json route.json vlan.json bonding/<bond>
#   (always)    -> seconds, then done (last: its presence means the step ran)
# Configuration comes from /mnt/kt/config (shell assignments written by the
# harness): KT_REPO, KT_IFU, KT_NICS.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
export HOME=/root TMPDIR=/mnt/scratch
K=/mnt/kt
exec >"$K/guest.log" 2>&1
. "$K/config"
export KT_REPO KT_SCRATCH=/mnt/scratch
echo "guest: start at uptime $(cut -d' ' -f1 /proc/uptime), kernel $(uname -r)"
uname -r >"$K/kernel"

# ---- ifupdown2 from the unpacked .deb; the command it runs is chosen by the
# ---- tail of argv[0], so each wrapper execs a symlink named after it --------
IFU=$KT_IFU/usr/share/ifupdown2
for op in ifup ifdown ifquery ifreload; do
  ln -sf "$IFU/__main__.py" "/usr/local/sbin/.$op"
  # /usr/bin/python3: never a python found through PATH (pyenv and the like)
  printf '#!/bin/sh\nexec /usr/bin/python3 /usr/local/sbin/.%s "$@"\n' "$op" >"/usr/local/sbin/$op"
  chmod +x "/usr/local/sbin/$op"
done
# a fresh /etc/network (the host's if-*.d hooks must not run here), with the
# package's conf; state in /run like the lock; the second setting as on PVE
rm -rf /etc/network; mkdir -p /etc/network/ifupdown2 /etc/network/interfaces.d /run/network
cp "$KT_IFU/etc/network/ifupdown2/addons.conf" /etc/network/ifupdown2/
sed -e 's|^state_dir=.*|state_dir=/run/network/|' \
    -e 's|^multiple_vlan_aware_bridge_support=.*|multiple_vlan_aware_bridge_support=1|' \
    "$KT_IFU/etc/network/ifupdown2/ifupdown2.conf" >/etc/network/ifupdown2/ifupdown2.conf
printf 'auto lo\niface lo inet loopback\n' >/etc/network/interfaces
ip link set lo up

# ---- fake NICs: veths whose peers sit, up, in a "wire" netns, so the NICs
# ---- get carrier once brought up and can be enslaved to bonds/bridges ------
ip netns add wire
for nic in $KT_NICS; do
  ip link add "$nic" type veth peer name "$nic" netns wire && ip -n wire link set "$nic" up
done

echo "guest: ready at uptime $(cut -d' ' -f1 /proc/uptime)"
for d in "$K"/steps/[0-9]*; do
  n=${d##*/} o=$K/out/${d##*/}; mkdir -p "$o"
  t0=$(cut -d' ' -f1 /proc/uptime)
  echo "guest: step $n at uptime $t0"
  if [ -d "$d/etc" ]; then
    rm -rf /etc/network/interfaces /etc/network/interfaces.d
    mkdir -p /etc/network/interfaces.d; cp -r "$d/etc/." /etc/network/
  fi
  if [ -e "$d/ifreload" ]; then
    # shellcheck disable=SC2046
    ifreload $(cat "$d/ifreload") >"$o/ifreload.log" 2>&1; echo $? >"$o/ifreload.rc"
  fi
  if [ -e "$d/script" ]; then
    (cd /mnt/scratch && KT_OUT=$o KT_STEP=$n bash "$d/script") \
      >"$o/script.out" 2>"$o/script.err" </dev/null
    echo $? >"$o/script.rc"
  fi
  if [ -e "$d/check" ]; then
    ifquery --check -a -o json >"$o/check.json" 2>"$o/check.err"; echo $? >"$o/check.rc"
  fi
  if [ -e "$d/dump" ]; then
    ip -j -d link >"$o/link.json"; ip -j addr >"$o/addr.json"
    ip -j route >"$o/route.json"; bridge -j vlan show >"$o/vlan.json"
    mkdir -p "$o/bonding"
    for b in /proc/net/bonding/*; do [ ! -e "$b" ] || cat "$b" >"$o/bonding/${b##*/}"; done
  fi
  awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { print b - a }' >"$o/seconds"
  : >"$o/done"
done
echo "guest: end at uptime $(cut -d' ' -f1 /proc/uptime)"
