import { join } from 'node:path';

/** Where nodenet's files live under a root (contract.md §1). */
export interface Paths {
  root: string;
  interfaces: string;
  staged: string;
  interfacesD: string;
  etcNetwork: string;
  etcNodenet: string;
  sysctlD: string;
  varLib: string;
  /** Metadata about the staged change (the live digest it was based on). */
  stagedMeta: string;
  lock: string;
}

export function pathsFor(root: string): Paths {
  const etcNetwork = join(root, 'etc/network');
  const varLib = join(root, 'var/lib/nodenet');
  return {
    root,
    etcNetwork,
    interfaces: join(etcNetwork, 'interfaces'),
    staged: join(etcNetwork, 'interfaces.new'),
    interfacesD: join(etcNetwork, 'interfaces.d'),
    etcNodenet: join(root, 'etc/nodenet'),
    sysctlD: join(root, 'etc/sysctl.d'),
    varLib,
    stagedMeta: join(varLib, 'staged.json'),
    lock: join(varLib, 'lock'),
  };
}
