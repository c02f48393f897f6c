/**
 * A bridge takes over the addressing of its ports. A port's frames are delivered to the bridge,
 * so an address, a DHCP client or SLAAC on the port does nothing useful: on a fresh Debian
 * install (`iface eno1 inet dhcp` + `iface eno1 inet6 auto`) a bridge over eno1 left as
 * `inet manual` means the node has no address after apply. Whatever the port's method —
 * static, dhcp, auto; inet and inet6 — the bridge gets it and the port becomes `manual`. SLAAC
 * (`inet6 auto`) is taken over in another form (see {@link slaacLine}).
 */
import type { TextEdit } from '../interfaces/edits.ts';
import { eolNear, insertLinesAfter, removeLines } from '../interfaces/edits.ts';
import type { Document, IfaceNode, Line } from '../interfaces/syntax.ts';
import { planUpdate } from '../model/edit.ts';
import type { Iface, Stanza } from '../model/types.ts';
import type { Draft } from './common.ts';
import { syncHookLines } from './common.ts';

/** Methods by which an interface gets an address of its own (interfaces(5), ifupdown2). */
export const ADDRESSING_METHODS: ReadonlySet<string> = new Set([
  'static',
  'dhcp',
  'auto',
  'bootp',
  'ppp',
  'wvdial',
  'ipv4ll',
  'tunnel',
  'v4tunnel',
  '6to4',
]);

/** Dynamic methods a bridge can take over (`inet6 auto` is dropped instead: see takeOverPort). */
const DYNAMIC: Record<'inet' | 'inet6', ReadonlySet<string>> = {
  inet: new Set(['dhcp', 'bootp', 'ipv4ll']),
  inet6: new Set(['auto', 'dhcp']),
};

/** What the bridge is to get from its ports (decided before the bridge exists). */
export interface Takeover {
  cidr?: string;
  gateway?: string;
  /** `dhcp` etc. for the bridge's inet stanza when it has no static address. */
  method4?: string;
  cidr6?: string;
  gateway6?: string;
  /** `dhcp` for the bridge's inet6 stanza when it has no static address. */
  method6?: string;
  /** SLAAC on the bridge (from a port's `inet6 auto`): see {@link slaacLine}. */
  slaac?: boolean;
}

/**
 * SLAAC on a bridge in a form every ifupdown2 reads. Debian's ifupdown2 3.0 rejects the method
 * `inet6 auto` ("unsupported address method 'auto'", ifreload exits 1), and it turns IPv6
 * forwarding on for a bridge with an address, where the kernel's default accept_ra 1 ignores
 * router advertisements. accept_ra 2 accepts them even so; autoconf is on by default. The
 * line is idempotent, so running it on every reload is harmless.
 */
export function slaacLine(bridge: string): string {
  return `echo 2 > /proc/sys/net/ipv6/conf/${bridge}/accept_ra`;
}

function stanzaOf(i: Iface, family: 'inet' | 'inet6'): Stanza | undefined {
  return (
    i.stanzas.find((s) => s.family === family) ??
    (family === 'inet' ? i.stanzas.find((s) => s.family === null) : undefined)
  );
}

function lastLineOf(node: IfaceNode): Line {
  return node.body.length ? node.body[node.body.length - 1]!.line : node.header;
}

function setMethod(s: Stanza, method: string): TextEdit[] {
  const m = s.node.method;
  if (!m || m.start < 0 || s.method === method) return [];
  return [{ offset: m.start, length: m.end - m.start, content: method }];
}

/** Remove a stanza and the blank line before it. */
export function removeStanza(doc: Document, s: Stanza): TextEdit {
  const k = doc.nodes.indexOf(s.node);
  const prev = doc.nodes[k - 1];
  const start = prev && prev.kind === 'blank' ? prev.line : s.node.header;
  return removeLines(doc, start, lastLineOf(s.node));
}

/**
 * Strip the addressing of port `p` (addresses, gateways, dynamic methods) and return what the
 * bridge should take over; `notes` get one sentence per move. `have` is what the bridge gets
 * already (from the command line or an earlier port): it wins, and the port's is dropped.
 */
export function takeOverPort(d: Draft, p: string, bridge: string, have: Takeover, notes: string[]): Takeover {
  const got: Takeover = { ...have };
  const i = d.iface(p);
  if (!i) return got;
  const del: string[] = [];
  // inet: a static address and gateway, or a dynamic method.
  const s4 = stanzaOf(i, 'inet');
  if (s4) {
    const a = s4.addresses.find((x) => x.version === 4 && x.prefix !== null);
    const gw = s4.gateways.find((g) => !g.value.includes(':'))?.value;
    if (a) {
      del.push('cidr');
      if (got.cidr === undefined && got.method4 === undefined) {
        got.cidr = `${a.ip}/${a.prefix}`;
        notes.push(`moved ${got.cidr} from ${p} to ${bridge} (a bridge port carries no address)`);
      } else
        notes.push(
          `removed ${a.raw} from ${p}: a bridge port carries no address (${bridge} gets ${got.cidr ?? got.method4})`,
        );
    }
    if (gw !== undefined) {
      del.push('gateway');
      if (got.gateway === undefined && got.method4 === undefined) {
        got.gateway = gw;
        notes.push(`moved gateway ${gw} from ${p} to ${bridge}`);
      }
    }
    if (s4.method !== null && DYNAMIC.inet.has(s4.method)) {
      if (got.cidr === undefined && got.method4 === undefined) {
        got.method4 = s4.method;
        notes.push(
          `${bridge} takes over ${p}'s '${s4.method}' (inet): a bridge port gets no address, so ${p} becomes 'inet manual'`,
        );
      } else
        notes.push(
          `${p} was 'inet ${s4.method}'; it becomes 'inet manual' (a bridge port gets no address; ${bridge} has ${got.cidr ?? got.method4})`,
        );
    }
  }
  // inet6: the same, for a static address or SLAAC/DHCPv6.
  const s6 = stanzaOf(i, 'inet6');
  const a6 = i.stanzas.flatMap((s) => s.addresses).find((x) => x.version === 6 && x.prefix !== null);
  const gw6 = i.stanzas.flatMap((s) => s.gateways).find((g) => g.value.includes(':'))?.value;
  if (a6) {
    del.push('cidr6');
    if (got.cidr6 === undefined && got.method6 === undefined) {
      got.cidr6 = `${a6.ip}/${a6.prefix}`;
      notes.push(`moved ${got.cidr6} from ${p} to ${bridge} (a bridge port carries no address)`);
    }
  }
  if (gw6 !== undefined) {
    del.push('gateway6');
    if (got.gateway6 === undefined && got.method6 === undefined && got.cidr6 === `${a6?.ip}/${a6?.prefix}`)
      got.gateway6 = gw6;
  }
  const dyn6 = s6 && s6.method !== null && DYNAMIC.inet6.has(s6.method) ? s6.method : undefined;
  if (dyn6 === 'auto' && got.cidr6 === undefined && got.method6 === undefined) {
    got.slaac = true;
    notes.push(
      `${bridge} takes over ${p}'s SLAAC ('inet6 auto'): ${p}'s inet6 stanza is dropped, and ${bridge} accepts router advertisements (${slaacLine(bridge)}); 'inet6 auto' itself is not written, as Debian's ifupdown2 3.0 rejects that method`,
    );
  } else if (dyn6 !== undefined && got.cidr6 === undefined && got.method6 === undefined) {
    got.method6 = dyn6;
    notes.push(
      `${bridge} takes over ${p}'s '${dyn6}' (inet6): ${p}'s inet6 stanza is dropped (a bridge port gets no address)`,
    );
  }
  // Addresses and gateways go through the model's own edit (it also drops an emptied inet6
  // stanza); the methods left behind are then made manual.
  if (del.length) d.apply(planUpdate(d.doc, d.model, p, {}, del));
  const now = d.iface(p)!;
  const edits: TextEdit[] = [];
  const n4 = stanzaOf(now, 'inet');
  if (n4 && n4.family !== null && n4.method !== null && ADDRESSING_METHODS.has(n4.method))
    edits.push(...setMethod(n4, 'manual'));
  const n6 = now.stanzas.find((s) => s.family === 'inet6');
  if (n6 && n6.method !== null && ADDRESSING_METHODS.has(n6.method)) {
    // An inet6 stanza with nothing left in it goes; one with options of its own stays, manual.
    const onlyTrivia = n6.options.length === 0 && now.stanzas.length > 1;
    edits.push(onlyTrivia ? removeStanza(d.doc, n6) : setMethod(n6, 'manual')[0]!);
  }
  d.apply(edits.filter(Boolean));
  return got;
}

/**
 * Give bridge `name` the dynamic methods taken over from its ports (after the bridge exists
 * with its static addresses): its inet stanza's method, and an inet6 stanza when it has none.
 */
export function applyDynamic(d: Draft, name: string, t: Takeover): void {
  const b = d.iface(name);
  if (!b) return;
  if (t.method4 !== undefined) {
    const s4 = stanzaOf(b, 'inet');
    if (s4 && s4.family !== null && (s4.method === 'manual' || s4.method === null) && s4.addresses.length === 0)
      d.apply(setMethod(s4, t.method4));
  }
  if (t.slaac) {
    const line = slaacLine(name);
    syncHookLines(d, name, [{ key: 'up:slaac', hook: 'post-up', value: line }], (h, v) =>
      h === 'post-up' && v === line ? 'up:slaac' : null,
    );
  }
  const b2 = d.iface(name)!;
  if (t.method6 !== undefined && !b2.stanzas.some((s) => s.family === 'inet6')) {
    const last = b2.stanzas[b2.stanzas.length - 1]!;
    d.apply([
      insertLinesAfter(
        d.doc,
        lastLineOf(last.node),
        ['', `iface ${name} inet6 ${t.method6}`],
        eolNear(d.doc, last.node.header),
      ),
    ]);
  }
}
