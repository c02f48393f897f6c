#!/bin/sh
# /init of the full-system tier's initramfs (busybox only). Builds a root that survives a
# reboot or a hard reset: the host's / over virtio-9p, read-only, under an overlay whose upper
# layer is the ext4 virtio disk /dev/vda; the run's work dir (9p tag "work") on /mnt/kt. On the
# first boot it prepares the overlay (firstboot.sh from the work dir, run in the new root by
# the host's own /bin/sh), then hands over to systemd as PID 1.
B=/bin/busybox
$B mount -t proc proc /proc; $B mount -t sysfs sys /sys; $B mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
for n in $($B cat /mod/order); do
  case $n in bonding) a=max_bonds=0;; dummy) a=numdummies=0;; *) a=;; esac
  $B insmod /mod/$n.ko $a 2>/dev/null
done
o=trans=virtio,version=9p2000.L,msize=512000
$B mount -t 9p -o $o,ro,cache=loose hostroot /lower || echo "fs-init: cannot mount the host root"
$B mkdir -p /disk; $B mount -t ext4 /dev/vda /disk || echo "fs-init: cannot mount /dev/vda"
$B mkdir -p /disk/up /disk/wk
$B mount -t overlay overlay -o lowerdir=/lower,upperdir=/disk/up,workdir=/disk/wk /newroot
$B mkdir -p /newroot/mnt/kt
$B mount -t 9p -o $o work /newroot/mnt/kt || echo "fs-init: cannot mount the work dir"
if [ ! -e /newroot/etc/fs-prepared ]; then
  $B mount -t proc proc /newroot/proc
  $B chroot /newroot /bin/sh /mnt/kt/firstboot.sh && $B touch /newroot/etc/fs-prepared
  $B umount /newroot/proc
fi
$B umount /proc /sys /dev 2>/dev/null
echo "fs-init: switching to systemd"
exec $B switch_root /newroot /lib/systemd/systemd
