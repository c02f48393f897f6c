#!/bin/sh
# /init of the kernel tier's initramfs (busybox only).  Loads the modules,
# builds the guest's root: the host's / over virtio-9p, read-only, under a
# tmpfs overlay (so /etc/network, /run, ... are writable and every write is
# thrown away at power-off); the per-run work dir (9p tag "work",
# read-write) on /mnt/kt; a tmpfs scratch dir on /mnt/scratch.  Then it runs
# /mnt/kt/boot and powers off.
B=/bin/busybox
$B mount -t proc proc /proc; $B mount -t sysfs sys /sys; $B mount -t devtmpfs dev /dev
# without this, a hand-made initramfs has no console and its output is lost
exec </dev/console >/dev/console 2>&1
# max_bonds=0 / numdummies=0: no bond0 / dummy0 created at load time (the
# tests create their own, and a stray bond0 would change what ifupdown2 does)
for n in $($B cat /mod/order); do
  case $n in bonding) a=max_bonds=0;; dummy) a=numdummies=0;; *) a=;; esac
  $B insmod /mod/$n.ko $a || echo "kt-init: insmod $n failed"
done
o=trans=virtio,version=9p2000.L,msize=512000
$B mount -t 9p -o $o,ro,cache=loose hostroot /lower || echo "kt-init: cannot mount the host root"
$B mount -t tmpfs -o size=75% tmpfs /rw; $B mkdir /rw/up /rw/wk
$B mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/up,workdir=/rw/wk /newroot
# fresh proc/sys/dev inside the new root: busybox `mount --move` went wrong here
$B mount -t proc proc /newroot/proc; $B mount -t sysfs sys /newroot/sys
$B mount -t devtmpfs dev /newroot/dev; $B mount -t tmpfs tmpfs /newroot/run
$B mkdir -p /newroot/mnt/kt /newroot/mnt/scratch
$B mount -t 9p -o $o work /newroot/mnt/kt || echo "kt-init: cannot mount the work dir"
$B mount -t tmpfs -o size=256m tmpfs /newroot/mnt/scratch
$B umount /proc /sys
echo "kt-init: switching root"
# `echo o` returns before the power-off happens; the sleep keeps init alive
# until it does (else: a noisy "attempted to kill init" panic)
exec $B switch_root /newroot /bin/sh -c \
  '/bin/sh /mnt/kt/boot; echo "kt-init: powering off"; echo o >/proc/sysrq-trigger; sleep 30'
