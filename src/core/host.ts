/**
 * What the host itself says about its links, for `--root /` only: another root is a
 * different (or simulated) node whose NICs this host knows nothing about.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { HostInfo } from '../model/pve-view.ts';

const SYS = '/sys/class/net';

/** Physical NICs (links backed by a device) of this host, or undefined when unknown. */
export function hostNics(root: string): Set<string> | undefined {
  if (root !== '/') return undefined;
  try {
    return new Set(readdirSync(SYS).filter((n) => existsSync(`${SYS}/${n}/device`)));
  } catch {
    return undefined;
  }
}

/** Link state from sysfs: `exists` = the link is there, `active` = IFF_UP is set. */
export function hostLinkInfo(root: string): HostInfo | undefined {
  if (root !== '/') return undefined;
  return {
    exists: (name) => existsSync(`${SYS}/${name}`),
    active: (name) => {
      try {
        return (Number(readFileSync(`${SYS}/${name}/flags`, 'utf8').trim()) & 1) === 1;
      } catch {
        return false;
      }
    },
  };
}
