#!/bin/bash
# prepare.sh - fetch, unpack and cache what the kernel tier boots: a Debian
# amd64 kernel (downloaded with `apt-get download`, unpacked with
# `dpkg-deb -x`, never installed), a small busybox initramfs holding the
# modules the tests need, and ifupdown2 (unpacked the same way, byte-compiled).
#
#   usage: prepare.sh CACHE_DIR INIT_SCRIPT
#
# Prints KEY=VALUE lines on stdout (KERNEL, INITRD, IFUPDOWN2, KVER) for the
# harness.  Everything lands under CACHE_DIR, so a second run reuses it; an
# flock on CACHE_DIR/.lock makes concurrent callers wait instead of racing.
# Host needs: apt-get + dpkg-deb (first run only), busybox (busybox-static),
# gzip, xz, flock, /usr/bin/python3.
set -euo pipefail
C=$1 INIT=$2
mkdir -p "$C"; C=$(cd "$C" && pwd)
exec 9>"$C/.lock"; flock 9
W=$(mktemp -d "$C/.tmp.XXXXXX")
trap 'rm -rf "$W"' EXIT
BB=$(command -v busybox) || { echo "prepare: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
# Modules loaded by the initramfs, dependencies resolved below.  virtio/9p/
# overlay give the guest its root; the rest is what the tests exercise
# (openvswitch for ovs.test.ts: loaded in every guest so all suites share one
# initramfs; it creates nothing until ovs-vswitchd runs).
MODS="virtio_pci 9pnet_virtio 9p overlay bonding 8021q bridge veth dummy openvswitch ${KT_MODULES:-}"

fetch() {   # fetch PKG DIR: download PKG's .deb and unpack it (no install)
  mkdir -p "$W/deb"; rm -f "$W"/deb/*.deb
  if ! (cd "$W/deb" && apt-get download -q "$1" >"$W/deb.log" 2>&1); then
    cat "$W/deb.log" >&2
    echo "prepare: apt-get download $1 failed (run apt-get update first?)" >&2; exit 1
  fi
  dpkg-deb -x "$W"/deb/*.deb "$2"
}

# ---- which kernel: what linux-image-amd64 depends on now (so an ABI bump in
# ---- Debian is followed), else the newest linux-image-N-amd64 apt offers,
# ---- else (no apt lists, e.g. offline) the newest one already cached --------
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
      sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1 || true)
if [ -z "$pkg" ]; then
  pkg=$(apt-cache pkgnames linux-image- 2>/dev/null |
        grep -E '^linux-image-[0-9.]+-[0-9]+-amd64$' | sort -V | tail -1 || true)
fi
if [ -n "$pkg" ]; then V=${pkg#linux-image-}
else
  V=$(ls -d "$C"/linux-*/ 2>/dev/null | sed 's|.*/linux-||; s|/$||' | sort -V | tail -1 || true)
  [ -n "$V" ] || { echo "prepare: no kernel package known to apt (run apt-get update) and none cached" >&2; exit 1; }
fi
K=$C/linux-$V
KEY=$( { echo "$MODS"; cat "$INIT"; } | cksum | cut -d' ' -f1)
INITRD=$K/initrd-$KEY.gz

if [ ! -s "$K/vmlinuz" ] || [ ! -s "$INITRD" ]; then
  echo "prepare: fetching linux-image-$V (once per cache)" >&2
  fetch "linux-image-$V" "$W/k"
  MDIR=$W/k/lib/modules/$V
  mkdir -p "$K"
  cp "$W/k/boot/config-$V" "$K/config"
  cp "$W/k/boot/vmlinuz-$V" "$K/vmlinuz.new"; mv "$K/vmlinuz.new" "$K/vmlinuz"
  rm -f "$K/vmlinux"

  # ---- initramfs: busybox + modules (dependencies first) + /init ----------
  R=$W/initrd; mkdir -p "$R"/{bin,mod,proc,sys,dev,lower,rw,newroot}
  declare -A path=() seen=()
  while read -r f; do n=${f##*/}; n=${n%%.ko*}; path[${n//-/_}]=$f; done \
    < <(find "$MDIR/kernel" -name '*.ko*')
  addmod() {
    local n=${1//-/_} d
    [ -z "${seen[$n]:-}" ] || return 0; seen[$n]=1
    [ -n "${path[$n]:-}" ] || { echo "prepare: module $n not in linux-image-$V" >&2; exit 1; }
    case ${path[$n]} in   # busybox insmod wants an uncompressed .ko
      *.xz) xz -dc "${path[$n]}";; *.zst) zstd -qdc "${path[$n]}";; *) cat "${path[$n]}";;
    esac >"$R/mod/$n.ko"
    # dependencies from the module's own .modinfo (the host has no modinfo);
    # softdeps matter: libcrc32c fails with "unknown symbol" without crc32c
    for d in $(tr '\0' '\n' <"$R/mod/$n.ko" | sed -n 's/^softdep=pre: //p'); do
      d=${d//-/_}; [ -n "${path[$d]:-}" ] || d=${d}_generic
      [ -z "${path[$d]:-}" ] || addmod "$d"
    done
    for d in $(tr '\0' '\n' <"$R/mod/$n.ko" | sed -n 's/^depends=//p' | tr , ' '); do addmod "$d"; done
    echo "$n" >>"$R/mod/order"
  }
  for m in $MODS; do addmod "$m"; done
  cp "$BB" "$R/bin/busybox"; ln -s busybox "$R/bin/sh"
  cp "$INIT" "$R/init"; chmod +x "$R/init"
  (cd "$R" && find . | "$BB" cpio -o -H newc 2>/dev/null | gzip -1) >"$INITRD.new"
  mv "$INITRD.new" "$INITRD"
fi

# ---- vmlinux: the ELF inside the bzImage, booted through its PVH entry, so
# ---- TCG skips firmware and decompression (~2 s per boot); empty = not usable
if [ ! -e "$K/vmlinux" ]; then
  : >"$K/vmlinux"
  if grep -q '^CONFIG_PVH=y' "$K/config"; then
    for z in 'xz -dc:\xfd7zXZ' 'zstd -qdc:\x28\xb5\x2f\xfd' 'gzip -dc:\x1f\x8b\x08'; do
      off=$(LC_ALL=C grep -abo -m1 "$(printf "${z#*:}")" "$K/vmlinuz" | head -1 | cut -d: -f1 || true)
      [ -n "$off" ] || continue
      tail -c +$((off + 1)) "$K/vmlinuz" | ${z%%:*} >"$W/vmlinux" 2>/dev/null || true
      if [ "$(head -c 4 "$W/vmlinux")" = $'\x7fELF' ]; then mv "$W/vmlinux" "$K/vmlinux"; break; fi
    done
  fi
fi
if [ -s "$K/vmlinux" ]; then BOOT=$K/vmlinux; else BOOT=$K/vmlinuz; fi

# ---- ifupdown2: unpacked + byte-compiled once (the guest's __pycache__
# ---- writes would land in its throwaway overlay and be redone every boot) ---
IFU=$(ls -d "$C"/ifupdown2-*/ 2>/dev/null | sort -V | tail -1 || true); IFU=${IFU%/}
if [ -z "$IFU" ] || [ ! -f "$IFU/usr/share/ifupdown2/__main__.py" ]; then
  echo "prepare: fetching ifupdown2 (once per cache)" >&2
  fetch ifupdown2 "$W/ifu"
  ver=$(dpkg-deb -f "$W"/deb/*.deb Version)
  /usr/bin/python3 -m compileall -q "$W/ifu/usr/share/ifupdown2" >/dev/null || true
  IFU=$C/ifupdown2-$ver; rm -rf "$IFU"; mv "$W/ifu" "$IFU"
fi

# stale initrds of older module sets / init scripts are dropped
find "$K" -name 'initrd-*.gz' ! -name "initrd-$KEY.gz" -delete
echo "KVER=$V"
echo "KERNEL=$BOOT"
echo "INITRD=$INITRD"
echo "IFUPDOWN2=$IFU"
