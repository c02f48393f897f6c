/**
 * Routes of the planning modes (issue 6: the same planners and staging as `nodenet setup`), the
 * ifupdown2 fix and the IPv6 switch.
 */
import { join } from 'node:path';
import { planBridged, type BridgedIntent } from '../../setup/bridged.ts';
import type { PlanContext, SetupResult } from '../../setup/common.ts';
import { IPV6_FILE, disablesIpv6, ipv6Apply, ipv6Boot, ipv6Running, ipv6Stage, ipv6Staged } from '../../setup/ipv6.ts';
import { planIfupdown2Fix } from '../../setup/ifupdown2-fix.ts';
import { planNat, type NatIntent } from '../../setup/nat.ts';
import { planRouted, type RoutedIntent } from '../../setup/routed.ts';
import type { Firewall } from '../../setup/rules.ts';
import { stageSetup, type StageResult } from '../../setup/stage.ts';
import { readOptional } from '../../store/atomic.ts';
import { paramError } from '../../errors.ts';
import type { ParamSpec } from '../../model/params.ts';
import { DIGEST_PARAM, list, optStr, str } from './common.ts';
import type { Deps, Result, Route } from './types.ts';

const SETUP_COMMON: readonly ParamSpec[] = [
  { name: 'bridge', type: 'string', format: 'pve-iface', description: 'The bridge to set up (e.g. vmbr0, vmbr1).' },
  { name: 'cidr', type: 'string', format: 'CIDRv4', optional: true, description: "The bridge's address and subnet." },
  DIGEST_PARAM,
];

function setupResult(r: StageResult): Result {
  return {
    data: {
      changed: r.changed ? 1 : 0,
      notes: r.notes,
      diff: r.diff,
      diagnostics: r.diagnostics,
      warnings: r.warnings,
    },
    extra: { digest: r.digest },
  };
}

/** Stage a planner's result, one write at a time, as any edit (digest, lock, validation). */
async function stageSetupVia(
  deps: Deps,
  plan: (text: string, ctx: PlanContext) => SetupResult,
  digest: unknown,
): Promise<Result> {
  const ctx: PlanContext = deps.core.opts.nics ? { nics: deps.core.opts.nics } : {};
  return setupResult(await deps.serial(() => stageSetup(deps.core, (t) => plan(t, ctx), optStr(digest))));
}

export const SETUP_ROUTES: readonly Route[] = [
  {
    method: 'POST',
    path: '/nodes/{node}/network/setup/bridged',
    summary: 'Bridged (LAN) mode: a bridge over ports with address and gateway (staged).',
    params: [
      ...SETUP_COMMON,
      {
        name: 'ports',
        type: 'string',
        format: 'pve-iface-list',
        optional: true,
        description: 'NICs or bonds; default: the first physical NIC when the node has no bridge.',
      },
      { name: 'gateway', type: 'string', format: 'ipv4', optional: true, description: 'Default gateway.' },
    ],
    perm: 'Sys.Modify',
    extension: true,
    returns: { type: 'object' },
    async handler(ctx, deps) {
      const p = ctx.params;
      const ports = list(p.ports);
      const intent: BridgedIntent = {
        bridge: str(p.bridge),
        ...(ports.length ? { ports } : {}),
        ...(p.cidr !== undefined ? { cidr: str(p.cidr) } : {}),
        ...(p.gateway !== undefined ? { gateway: str(p.gateway) } : {}),
      };
      return stageSetupVia(deps, (t, c) => planBridged(t, intent, c), p.digest);
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/network/setup/routed',
    summary:
      'Routed mode: forwarding and proxy_arp on the uplink, a bridge without ports for the routed subnet (staged).',
    params: [
      ...SETUP_COMMON,
      { name: 'uplink', type: 'string', format: 'pve-iface', description: 'The interface with the public address.' },
    ],
    perm: 'Sys.Modify',
    extension: true,
    returns: { type: 'object' },
    async handler(ctx, deps) {
      const p = ctx.params;
      if (p.cidr === undefined) throw paramError({ cidr: 'property is missing and it is not optional' });
      const intent: RoutedIntent = { uplink: str(p.uplink), bridge: str(p.bridge), cidr: str(p.cidr) };
      return stageSetupVia(deps, (t, c) => planRouted(t, intent, c), p.digest);
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/network/setup/nat',
    summary: 'NAT mode: masquerade a private bridge out of the uplink, with port forwards (staged).',
    params: [
      ...SETUP_COMMON,
      {
        name: 'uplink',
        type: 'string',
        format: 'pve-iface',
        optional: true,
        description: 'The interface with the public address (default: the one in the existing rules).',
      },
      {
        name: 'forward',
        type: 'string',
        maxLength: 4096,
        optional: true,
        description: 'Port forwards PROTO/PORT=IP:PORT, comma separated (e.g. tcp/2222=10.10.10.100:22).',
      },
      {
        name: 'remove-forward',
        type: 'string',
        maxLength: 4096,
        optional: true,
        description: 'Forwards to drop, PROTO/PORT, comma separated.',
      },
      {
        name: 'firewall',
        type: 'string',
        enum: ['iptables', 'nft'],
        optional: true,
        description: 'iptables (default) or nft.',
      },
      {
        name: 'remove',
        type: 'boolean',
        optional: true,
        description: 'Remove the NAT setup: the bridge and every rule line.',
      },
    ],
    perm: 'Sys.Modify',
    extension: true,
    returns: { type: 'object' },
    async handler(ctx, deps) {
      const p = ctx.params;
      const fw = list(p.forward);
      const rm = list(p['remove-forward']);
      const intent: NatIntent = {
        bridge: str(p.bridge),
        ...(p.uplink !== undefined ? { uplink: str(p.uplink) } : {}),
        ...(p.cidr !== undefined ? { cidr: str(p.cidr) } : {}),
        ...(fw.length ? { forwards: fw } : {}),
        ...(rm.length ? { removeForwards: rm } : {}),
        ...(p.firewall !== undefined ? { firewall: str(p.firewall) as Firewall } : {}),
        ...(str(p.remove) === '1' ? { remove: true } : {}),
      };
      return stageSetupVia(deps, (t, c) => planNat(t, intent, c), p.digest);
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/network/fix/ifupdown2',
    summary:
      'Rewrite the ifupdown (1) forms ifupdown2 ignores (bond-master, allow-auto, source-directory) as a staged change, as `nodenet fix ifupdown2`.',
    params: [DIGEST_PARAM],
    perm: 'Sys.Modify',
    extension: true,
    returns: { type: 'object' },
    async handler(ctx, deps) {
      return stageSetupVia(deps, (t, c) => planIfupdown2Fix(t, c), ctx.params.digest);
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/network/ipv6',
    summary: 'IPv6 switch: the sysctl.d file and, where the backend runs a kernel, the running values.',
    params: [],
    perm: 'Sys.Audit',
    extension: true,
    returns: { type: 'object' },
    async handler(_ctx, deps) {
      const file = join(deps.core.store.paths.root, IPV6_FILE);
      const content = await readOptional(file);
      const run = deps.sysctl;
      const boot = await ipv6Boot(deps.core.store.paths.root);
      return {
        data: {
          file: IPV6_FILE,
          disabled: disablesIpv6(content) ? 1 : 0,
          content,
          disabled_at_boot: boot.disabledBy ? 1 : 0,
          settings: boot.settings,
          running: run ? await ipv6Running(run) : null,
          staged: await ipv6Staged(deps.core.store.paths.root),
        },
      };
    },
  },
  {
    method: 'PUT',
    path: '/nodes/{node}/network/ipv6',
    summary: 'Disable or enable IPv6 (etc/sysctl.d/disable-ipv6.conf); with now=1 also apply it to the running kernel.',
    params: [
      { name: 'disable', type: 'boolean', description: '1 writes the file, 0 removes it.' },
      {
        name: 'now',
        type: 'boolean',
        optional: true,
        description: 'Also apply to the running kernel (backends with a kernel only).',
      },
      {
        name: 'stage',
        type: 'boolean',
        optional: true,
        description: 'Only stage the change (etc/network/ipv6.new); one that changes nothing clears the stage.',
      },
    ],
    perm: 'Sys.Modify',
    extension: true,
    returns: { type: 'object' },
    async handler(ctx, deps) {
      const action = str(ctx.params.disable) === '1' ? 'disable' : 'enable';
      const now = str(ctx.params.now) === '1';
      if (str(ctx.params.stage) === '1')
        return { data: { staged: await deps.serial(() => ipv6Stage(deps.core.store.paths.root, action)) } };
      if (now && !deps.sysctl)
        throw paramError({
          now: `the ${deps.apply.backend} backend runs no kernel here, so there is nothing to apply the setting to`,
        });
      const r = await deps.serial(async () => {
        const done = await ipv6Apply(deps.core.store.paths.root, action, now ? deps.sysctl : undefined);
        await ipv6Stage(deps.core.store.paths.root, null);
        return done;
      });
      return {
        data: { changed: r.changed ? 1 : 0, applied: r.applied ? 1 : 0, message: r.message, content: r.content },
      };
    },
  },
];
