/** `setup bridged|routed|nat` and `ipv6 disable|enable|status`: the planning modes. */
import { readdirSync } from 'node:fs';
import { NetworkCore } from '../../core/network.ts';
import { NodenetError } from '../../errors.ts';
import { PHYSICAL_NIC_RE } from '../../model/build.ts';
import { planBridged } from '../../setup/bridged.ts';
import type { PlanContext, SetupResult } from '../../setup/common.ts';
import { IPV6_FILE, disablesIpv6, ipv6Apply, ipv6Boot, ipv6Running, type SysctlRunner } from '../../setup/ipv6.ts';
import { planNat } from '../../setup/nat.ts';
import { planRouted } from '../../setup/routed.ts';
import type { Firewall } from '../../setup/rules.ts';
import { stageSetup, type StageResult } from '../../setup/stage.ts';
import { readOptional } from '../../store/atomic.ts';
import type { ParsedArgs } from '../args.ts';
import { onlyOptions, opt } from '../args.ts';
import type { CliContext, Command } from '../context.ts';
import { colorDiff, formatDiagnostics } from '../format.ts';

function need(args: ParsedArgs, key: string, mode: string): string {
  const v = opt(args, key);
  if (v === undefined || v === '')
    throw new NodenetError('USAGE', `setup ${mode} needs --${key}; see \`nodenet setup --help\``);
  return v;
}

/** All values of a repeatable option, also split on commas (`--ports eno1,eno2`). */
function many(args: ParsedArgs, key: string, split = true): string[] {
  const vs = args.options.get(key) ?? [];
  return split ? vs.flatMap((v) => v.split(/[,\s]+/)).filter((v) => v !== '') : vs;
}

/** Physical NICs of the host, only when the root is the host's (never guessed for another root). */
function hostNics(root: string): Set<string> | undefined {
  if (root !== '/') return undefined;
  try {
    return new Set(readdirSync('/sys/class/net').filter((n) => PHYSICAL_NIC_RE.test(n)));
  } catch {
    return undefined;
  }
}

function report(ctx: CliContext, what: string, r: StageResult): number {
  if (ctx.format === 'json') {
    ctx.out(
      `${JSON.stringify({ changed: r.changed, digest: r.digest, notes: r.notes, diff: r.diff, diagnostics: r.diagnostics, warnings: r.warnings })}\n`,
    );
    return 0;
  }
  for (const w of r.warnings) ctx.err(`nodenet: warning: ${w}\n`);
  if (!r.changed) {
    ctx.out(`nothing to change: ${what} is already as requested\n`);
    for (const n of r.notes) ctx.out(`  ${n}\n`);
    return 0;
  }
  ctx.out(`staged: ${what}\n`);
  for (const n of r.notes) ctx.out(`  ${n}\n`);
  ctx.out(`\n${colorDiff(r.diff)}`);
  ctx.out(
    `\nnothing is live yet: review with \`nodenet diff\`, make it live with \`nodenet apply\` (drop it with \`nodenet revert\`)\n`,
  );
  const shown = r.diagnostics.filter((d) => d.severity !== 'info');
  if (shown.length) ctx.err(formatDiagnostics(shown));
  return 0;
}

export const setup: Command = {
  name: 'setup',
  async run(ctx, args) {
    const mode = args.positionals[0];
    if (args.positionals.length !== 1 || (mode !== 'bridged' && mode !== 'routed' && mode !== 'nat')) {
      throw new NodenetError('USAGE', 'setup needs one mode: bridged, routed or nat; see `nodenet setup --help`');
    }
    let plan: (text: string, pc: PlanContext) => SetupResult;
    let what: string;
    let core = ctx.core();
    if (mode === 'bridged') {
      onlyOptions(args, ['bridge', 'ports', 'cidr', 'gateway', 'digest'], 'setup bridged');
      const bridge = need(args, 'bridge', mode);
      const ports = many(args, 'ports');
      const cidr = opt(args, 'cidr');
      const gateway = opt(args, 'gateway');
      const nics = hostNics(ctx.root);
      if (nics) core = new NetworkCore({ root: ctx.root, nics });
      plan = (t, pc) =>
        planBridged(
          t,
          {
            bridge,
            ...(ports.length ? { ports } : {}),
            ...(cidr !== undefined ? { cidr } : {}),
            ...(gateway !== undefined ? { gateway } : {}),
          },
          pc,
        );
      what = `bridged mode on ${bridge}`;
    } else if (mode === 'routed') {
      onlyOptions(args, ['uplink', 'bridge', 'cidr', 'digest'], 'setup routed');
      const intent = {
        uplink: need(args, 'uplink', mode),
        bridge: need(args, 'bridge', mode),
        cidr: need(args, 'cidr', mode),
      };
      plan = (t, pc) => planRouted(t, intent, pc);
      what = `routed mode on ${intent.bridge} via ${intent.uplink}`;
    } else {
      onlyOptions(
        args,
        ['uplink', 'bridge', 'cidr', 'forward', 'remove-forward', 'firewall', 'remove', 'digest'],
        'setup nat',
      );
      const bridge = need(args, 'bridge', mode);
      const fw = opt(args, 'firewall');
      if (fw !== undefined && fw !== 'iptables' && fw !== 'nft')
        throw new NodenetError('USAGE', `--firewall must be iptables or nft, not '${fw}'`);
      const uplink = opt(args, 'uplink');
      const cidr = opt(args, 'cidr');
      const remove = args.options.has('remove');
      const intent = {
        bridge,
        ...(uplink !== undefined ? { uplink } : {}),
        ...(cidr !== undefined ? { cidr } : {}),
        forwards: many(args, 'forward'),
        removeForwards: many(args, 'remove-forward'),
        ...(fw !== undefined ? { firewall: fw as Firewall } : {}),
        remove,
      };
      plan = (t, pc) => planNat(t, intent, pc);
      what = remove ? `removal of the NAT setup on ${bridge}` : `NAT mode on ${bridge}`;
    }
    return report(ctx, what, await stageSetup(core, plan, opt(args, 'digest')));
  },
};

/** Where `--now` and `status` may touch a running kernel: the host only for `--root /`. */
async function sysctlRunner(ctx: CliContext): Promise<{ run?: SysctlRunner; why: string }> {
  if (ctx.backend === 'netns') {
    const { createNetnsBackend } = await import('../../apply/backend.ts');
    const be = createNetnsBackend({ root: ctx.root });
    await be.prepare([]);
    return { run: (argv) => be.execNet(argv), why: `inside the netns backend's namespace for ${ctx.root}` };
  }
  if (ctx.backend !== undefined && ctx.backend !== 'ifupdown2') {
    return { why: `not applied: the ${ctx.backend} backend changes no kernel` };
  }
  if (ctx.root !== '/') {
    return {
      why: `not applied: --root is ${ctx.root}, not /, and nodenet never changes the host's kernel for another root (use --backend netns to apply inside its sandbox)`,
    };
  }
  const { createRunner } = await import('../../apply/runner.ts');
  const runner = createRunner();
  return { run: (argv) => runner(argv[0]!, argv.slice(1)), why: 'on this host' };
}

export const ipv6: Command = {
  name: 'ipv6',
  async run(ctx, args) {
    onlyOptions(args, ['now'], 'ipv6');
    const action = args.positionals[0];
    if (args.positionals.length !== 1 || (action !== 'disable' && action !== 'enable' && action !== 'status')) {
      throw new NodenetError('USAGE', 'ipv6 needs one of: disable, enable, status; see `nodenet ipv6 --help`');
    }
    const { join } = await import('node:path');
    const file = join(ctx.root, IPV6_FILE);
    if (action === 'status') {
      if (args.options.has('now')) throw new NodenetError('USAGE', 'ipv6 status takes no --now');
      const content = await readOptional(file);
      const { run, why } = await sysctlRunner(ctx);
      const running = run ? await ipv6Running(run) : null;
      const boot = await ipv6Boot(ctx.root);
      if (ctx.format === 'json') {
        ctx.out(
          `${JSON.stringify({ file, exists: content !== null, disabled_by_file: disablesIpv6(content), content, disabled_at_boot: boot.disabledBy !== undefined, ...(boot.disabledBy ? { disabled_by: boot.disabledBy } : {}), settings: boot.settings, running, ...(running ? {} : { running_note: why.replace(/^not applied/, 'not read') }) })}\n`,
        );
        return 0;
      }
      ctx.out(
        `file:    ${file}: ${content === null ? 'absent (IPv6 is not disabled by nodenet)' : disablesIpv6(content) ? 'present, disables IPv6 at boot' : 'present, but does not set both keys to 1'}\n`,
      );
      // Every sysctl file counts, whatever its name: say which file sets what.
      for (const st of boot.settings) ctx.out(`boot:    ${st.file}:${st.line}: ${st.key} = ${st.value}\n`);
      ctx.out(
        `boot:    ${boot.disabledBy ? `IPv6 is disabled at boot (by ${boot.disabledBy.file} line ${boot.disabledBy.line})` : 'no sysctl file disables IPv6 at boot'}\n`,
      );
      if (running) for (const [k, v] of Object.entries(running)) ctx.out(`running: ${k} = ${v ?? '(unreadable)'}\n`);
      else ctx.out(`running: ${why.replace(/^not applied/, 'not read')}\n`);
      return 0;
    }
    const now = args.options.has('now');
    const runner = now ? await sysctlRunner(ctx) : undefined;
    const r = await ipv6Apply(ctx.root, action, runner?.run, runner?.why);
    const wanted = now && !r.applied;
    if (ctx.format === 'json') {
      ctx.out(
        `${JSON.stringify({ file: r.file, changed: r.changed, content: r.content, applied: r.applied, message: r.message })}\n`,
      );
      return wanted ? 1 : 0;
    }
    const did =
      action === 'disable'
        ? r.changed
          ? `wrote ${r.file}`
          : `${r.file} already disables IPv6`
        : r.changed
          ? `removed ${r.file}`
          : `${r.file} is absent already`;
    ctx.out(`${did}\n`);
    if (r.applied) ctx.out(`${r.message} (${runner?.why})\n`);
    else if (now) ctx.err(`nodenet: ${r.message}\n`);
    else ctx.out(`takes effect at the next boot; add --now to apply it at once\n`);
    return wanted ? 1 : 0;
  },
};

export const fix: Command = {
  name: 'fix',
  async run(ctx, args) {
    onlyOptions(args, ['digest'], 'fix');
    if (args.positionals.length !== 1 || args.positionals[0] !== 'ifupdown2')
      throw new NodenetError('USAGE', 'fix needs: ifupdown2; see `nodenet fix --help`');
    const { planIfupdown2Fix } = await import('../../setup/ifupdown2-fix.ts');
    const nics = hostNics(ctx.root);
    const core = new NetworkCore({ root: ctx.root, ...(nics ? { nics } : {}) });
    return report(
      ctx,
      'ifupdown (1) forms rewritten for ifupdown2',
      await stageSetup(core, (t, c) => planIfupdown2Fix(t, c), opt(args, 'digest')),
    );
  },
};

export const commands: Command[] = [setup, ipv6, fix];
