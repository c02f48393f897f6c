#!/bin/bash
# ovs-prepare.sh - fetch and unpack Debian's Open vSwitch for the kernel tier's
# guest, as prepare.sh does for ifupdown2: `apt-get download` + `dpkg-deb -x`,
# NEVER installed on the host (the package would start ovsdb-server and
# ovs-vswitchd there).  The shared libraries it needs beyond what the host
# has are unpacked next to it (the guest runs it with LD_LIBRARY_PATH).
#
#   usage: ovs-prepare.sh CACHE_DIR      prints OVS=<dir>
set -euo pipefail
C=$1
mkdir -p "$C"; C=$(cd "$C" && pwd)
exec 9>"$C/.ovs-lock"; flock 9
O=$(ls -d "$C"/openvswitch-*/ 2>/dev/null | sort -V | tail -1 || true); O=${O%/}
if [ -z "$O" ] || [ ! -x "$O/usr/lib/openvswitch-switch/ovs-vswitchd" ] || [ ! -e "$O/.complete" ]; then
  echo "ovs-prepare: fetching openvswitch-switch (once per cache)" >&2
  W=$(mktemp -d "$C/.tmp.XXXXXX"); trap 'rm -rf "$W"' EXIT
  # the libraries of openvswitch-switch/-common (Debian 12); libc6 and libssl3
  # come from the host (libssl3 is a dependency of apt on Debian 12)
  PKGS="openvswitch-switch openvswitch-common libunbound8 libevent-2.1-7 libnghttp2-14 libxdp1 libbpf1
        libelf1 libnuma1 libcap-ng0 libprotobuf-c1 libhiredis0.14"
  mkdir -p "$W/deb" "$W/x"
  # shellcheck disable=SC2086
  if ! (cd "$W/deb" && apt-get download -q $PKGS >"$W/deb.log" 2>&1); then
    cat "$W/deb.log" >&2; echo "ovs-prepare: apt-get download failed (run apt-get update first?)" >&2; exit 1
  fi
  for d in "$W"/deb/*.deb; do dpkg-deb -x "$d" "$W/x"; done
  ver=$(dpkg-deb -f "$W"/deb/openvswitch-switch_*.deb Version)
  # every library the binaries need must resolve (host libs + the unpacked ones)
  L=$W/x/usr/lib/x86_64-linux-gnu:$W/x/lib/x86_64-linux-gnu
  missing=$(for b in "$W"/x/usr/lib/openvswitch-switch/ovs-vswitchd "$W"/x/usr/sbin/ovsdb-server "$W"/x/usr/bin/ovs-vsctl; do
    LD_LIBRARY_PATH=$L ldd "$b" 2>&1 | grep -e "not found" -e "No such" || true; done | sort -u)
  [ -z "$missing" ] || { echo "ovs-prepare: unresolved libraries: $missing" >&2; exit 1; }
  : >"$W/x/.complete"
  O=$C/openvswitch-$ver; rm -rf "$O"; mv "$W/x" "$O"
fi
echo "OVS=$O"
