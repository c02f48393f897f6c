#!/bin/sh
# Run once by the initramfs in the guest's new root (the host's /bin/sh, chrooted): makes the
# overlay a node of its own. Nothing here reaches the host: / is the overlay.
set -u
# Services of the host machine a guest should not start, and timers that would disturb a test.
for s in etcd postgresql avahi-daemon e2scrub_reap systemd-timesyncd systemd-networkd \
         apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
         fstrim.timer man-db.timer; do
  case $s in *.timer) u=$s;; *) u=$s.service;; esac
  ln -sf /dev/null /etc/systemd/system/$u
done
: > /etc/fstab
: > /etc/machine-id
echo fsguest > /etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\tfsguest\n' > /etc/hosts
# The node's network as an installer leaves it: the first NIC (user-mode network of QEMU,
# the forwarded ports arrive on 10.0.2.15) static, the second unused.
mkdir -p /etc/network
cat > /etc/network/interfaces <<'EOI'
auto lo
iface lo inet loopback

auto eth0
iface eth0 inet static
	address 10.0.2.15/24
	gateway 10.0.2.2

iface eth1 inet manual
EOI
# root's password (for root@pam) and SSH key, from the work dir.
echo "root:$(cat /mnt/kt/rootpw)" | /usr/sbin/chpasswd
mkdir -p /root/.ssh; chmod 700 /root/.ssh
cp /mnt/kt/id.pub /root/.ssh/authorized_keys; chmod 600 /root/.ssh/authorized_keys
# The host's policy-rc.d (a build machine's "start no services") would keep dpkg from starting
# the units: a node has none.
rm -f /usr/sbin/policy-rc.d
# Speed under TCG: no man-db index rebuild on every dpkg -i (minutes), and SSH host keys made
# on the host (openssh-server's postinst only makes missing ones).
rm -f /var/lib/man-db/auto-update
mkdir -p /etc/ssh; cp /mnt/kt/hostkeys/ssh_host_* /etc/ssh/; chmod 600 /etc/ssh/ssh_host_*_key
# The test's agent: runs the host's command files from the work dir (9p, no network needed).
cp /mnt/kt/kt-agent.service /etc/systemd/system/kt-agent.service
mkdir -p /etc/systemd/system/multi-user.target.wants
ln -sf ../kt-agent.service /etc/systemd/system/multi-user.target.wants/kt-agent.service
exit 0
