#!/bin/bash
# prepare.sh - what the full-system tier boots, fetched and cached once: the kernel and a
# busybox initramfs (test/kernel/prepare.sh with this tier's /init and the modules for a
# virtio disk and NICs), and the .debs the guest installs with dpkg -i (ifupdown2, openssh).
#   usage: prepare.sh CACHE_DIR      prints KVER=, KERNEL=, INITRD=, DEBS= lines
set -euo pipefail
C=$1; mkdir -p "$C"; C=$(cd "$C" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
KT_MODULES="virtio_net virtio_blk ext4 crc32c_generic" "$HERE/../kernel/prepare.sh" "$C" "$HERE/initrd-init.sh" | grep -E '^(KVER|KERNEL|INITRD)='
D=$C/debs
exec 8>"$C/.debs.lock"; flock 8
if [ ! -e "$D/.done" ]; then
  echo "prepare: fetching ifupdown2 and openssh-server .debs (once per cache)" >&2
  rm -rf "$D"; mkdir -p "$D"
  # openssh-client: openssh-server wants the very same version.
  (cd "$D" && apt-get download -q ifupdown2 openssh-server openssh-client openssh-sftp-server \
      lsb-base runit-helper libwrap0 >"$C/debs.log" 2>&1) || { cat "$C/debs.log" >&2; exit 1; }
  touch "$D/.done"
fi
echo "DEBS=$D"
