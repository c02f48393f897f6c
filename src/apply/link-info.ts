/**
 * Link state (`active`, `exists` in the API's list) read from a backend's kernel: the host's
 * for ifupdown2, the namespace's for netns. Cached for a moment, because a list of 4094
 * interfaces is asked for often and reading the kernel state costs tens of milliseconds.
 */
import { createHash } from 'node:crypto';
import type { HostInfo } from '../model/pve-view.ts';
import type { Backend } from './backend.ts';
import { GUEST_PORT_RE } from './guests.ts';

/**
 * How long a reading is reused: long enough to absorb bursts of list requests, short enough to
 * show a link going down.
 */
export const LINK_INFO_MAX_AGE_MS = 2000;

export class BackendLinkInfo implements HostInfo {
  private up = new Map<string, boolean>();
  private guests = new Map<string, string[]>();
  private at = 0;
  private stampValue = '';
  private pending: Promise<string> | undefined;

  constructor(private readonly backend: Backend) {}

  exists(name: string): boolean {
    return this.up.has(name);
  }

  active(name: string): boolean {
    return this.up.get(name) === true;
  }

  guestPorts(bridge: string): readonly string[] {
    return this.guests.get(bridge) ?? [];
  }

  /** Makes the next refresh read the kernel (after an apply or rollback changed it). */
  invalidate(): void {
    this.at = 0;
  }

  /** Refresh when older than {@link LINK_INFO_MAX_AGE_MS}; returns a stamp that changes with the state. */
  refresh(force = false): Promise<string> {
    if (!force && Date.now() - this.at < LINK_INFO_MAX_AGE_MS) return Promise.resolve(this.stampValue);
    this.pending ??= (async () => {
      try {
        const s = await this.backend.readState();
        this.up = new Map(s.interfaces.map((i) => [i.name, i.up]));
        const guests = new Map<string, string[]>();
        for (const i of s.interfaces)
          if (i.master !== undefined && GUEST_PORT_RE.test(i.name))
            guests.set(i.master, [...(guests.get(i.master) ?? []), i.name]);
        this.guests = guests;
        this.stampValue = createHash('sha256')
          .update(JSON.stringify([...this.up, ...guests]))
          .digest('hex')
          .slice(0, 16);
      } catch {
        // keep the last reading; the list still answers
      } finally {
        this.at = Date.now();
        this.pending = undefined;
      }
      return this.stampValue;
    })();
    return this.pending;
  }
}
