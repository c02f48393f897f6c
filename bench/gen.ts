/** Generators of large interfaces files for benchmarks. */

/** N bridges like the research's timing files (address, no ports, stp off, fd 0). */
export function bridgesFile(n: number): string {
  let s = 'auto lo\niface lo inet loopback\n\n';
  for (let i = 0; i < n; i++) {
    s += `auto vmbr${i}\niface vmbr${i} inet static\n\taddress 10.${i >> 8}.${i & 255}.1/24\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n\n`;
  }
  return s;
}

/** N VLAN sub-interfaces on a VLAN-aware bridge. */
export function vlansFile(n: number): string {
  let s =
    'auto lo\niface lo inet loopback\n\niface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet manual\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n\tbridge-vlan-aware yes\n\tbridge-vids 2-4094\n\n';
  for (let i = 1; i <= n; i++) {
    s += `auto vmbr0.${i}\niface vmbr0.${i} inet static\n\taddress 10.${i >> 8}.${i & 255}.2/24\n\n`;
  }
  return s;
}
