/** Interfaces files and guest shell snippets shared by kernel-tier tests. */

/** Two NICs in a balance-rr bond, a bridge on the bond and a VLAN on the bond. */
export const BOND_BRIDGE_VLAN = `auto lo
iface lo inet loopback

iface eno1 inet manual
iface eno2 inet manual

auto bond0
iface bond0 inet manual
	bond-slaves eno1 eno2
	bond-miimon 100
	bond-mode balance-rr

auto vmbr0
iface vmbr0 inet static
	address 10.30.0.2/24
	bridge-ports bond0
	bridge-stp off
	bridge-fd 0

auto bond0.40
iface bond0.40 inet static
	address 10.40.0.2/24
`;

/** Guest bash: makes the unpacked ifupdown2 look installed (/usr/share/ifupdown2, /usr/sbin/if*), as on a real node. */
export const LOOK_INSTALLED = `SHARE=$(dirname "$(readlink -f /usr/local/sbin/.ifreload)")
ln -sfn "$SHARE" /usr/share/ifupdown2
for op in ifup ifdown ifquery ifreload; do ln -sf /usr/local/sbin/$op /usr/sbin/$op; done
`;
