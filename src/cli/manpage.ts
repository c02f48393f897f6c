/**
 * nodenet(8) and the bash completion, generated from the same command definitions as `--help`
 * so they never drift. {@link commandDefinitions} is the one adapter between the CLI's command
 * definitions and these generators: today it reads them through `main(['--help'])` and
 * `main([CMD, '--help'])`; a declarative command table can be read directly there instead.
 */
import { main } from './main.ts';

export interface OptionDef {
  /** `--listen` */
  flag: string;
  /** `HOST:PORT`, or '' for a flag without value. */
  arg: string;
  desc: string;
}

export interface CommandDef {
  name: string;
  summary: string;
  /** The usage line after `nodenet [global options] `. */
  usage: string;
  /** The long help, as `nodenet CMD --help` prints it (without the usage and global options). */
  help: string;
  options: OptionDef[];
  /** First words of the usage alternatives (`user add | user list` → add, list). */
  subcommands: string[];
}

export interface CliDefinitions {
  version: string;
  commands: CommandDef[];
  globals: OptionDef[];
}

async function helpOf(argv: string[]): Promise<string> {
  let text = '';
  await main(argv, { out: (s) => (text += s), err: (s) => (text += s), tty: false });
  return text;
}

/** `  --flag ARG   description` lines of an "Options:" style block. */
function optionLines(block: string): OptionDef[] {
  const out: OptionDef[] = [];
  for (const line of block.split('\n')) {
    const m = /^ {2}(--[a-z0-9_-]+)((?: [A-Z][A-Z0-9:|_.-]*)?)\s{2,}(\S.*)$/.exec(line);
    if (m) out.push({ flag: m[1]!, arg: m[2]!.trim(), desc: m[3]! });
    else if (out.length && /^ {6,}\S/.test(line)) out[out.length - 1]!.desc += ` ${line.trim()}`;
  }
  return out;
}

/** Text between a heading line (`Options:`) and the next blank-line-separated heading. */
function section(text: string, heading: string): string {
  const i = text.indexOf(`\n${heading}\n`);
  if (i < 0) return '';
  const rest = text.slice(i + heading.length + 2);
  const end = rest.search(/\n\n(?=\S)/);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The adapter: the CLI's command definitions, as `--help` shows them. */
export async function commandDefinitions(): Promise<CliDefinitions> {
  const top = await helpOf(['--help']);
  const version = /^nodenet (\S+)/.exec(top)?.[1] ?? 'unknown';
  const commands: CommandDef[] = [];
  for (const line of section(top, 'Commands:').split('\n')) {
    const m = /^ {2}([a-z0-9-]+)\s+(\S.*)$/.exec(line);
    if (!m) continue;
    const full = await helpOf([m[1]!, '--help']);
    const usage = /^Usage: nodenet \[global options\] (.*)$/m.exec(full)?.[1] ?? m[1]!;
    const body = full.slice(full.indexOf('\n\n') + 2).replace(/\n\nGlobal options:\n[\s\S]*$/, '').trimEnd();
    const subcommands = [
      ...new Set(
        usage
          .split(' | ')
          .map((alt) => alt.trim().split(/\s+/))
          .filter((w) => w[0] === m[1] && w[1] !== undefined)
          .flatMap((w) => w[1]!.split('|'))
          .filter((w) => /^[a-z][a-z0-9-]*$/.test(w)),
      ),
    ];
    // Every `  --option` line of the help (sections Options:, Parameters:, ...).
    const options = optionLines(body);
    // Options named only in the usage line (`--type T`, `--now`) count too.
    for (const u of usage.matchAll(/\[?(--[a-z0-9_-]+)(?: ([A-Z][A-Z0-9|_.-]*))?/g)) {
      if (!options.some((o) => o.flag === u[1])) options.push({ flag: u[1]!, arg: u[2] ?? '', desc: '' });
    }
    commands.push({ name: m[1]!, summary: m[2]!, usage, help: body, options, subcommands });
  }
  return { version, commands, globals: optionLines(section(top, 'Global options:')) };
}

/** Escape text for roff: backslashes, and a leading dot or quote. */
function roff(s: string): string {
  return s
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

/** nodenet(8) in man(7) format. */
export function manPage(d: CliDefinitions, date: string): string {
  const out: string[] = [];
  out.push(`.TH NODENET 8 "${date}" "nodenet ${d.version}" "System Administration"`);
  out.push('.SH NAME', 'nodenet \\- safe, lossless network management for Proxmox\\-VE\\-style nodes');
  out.push('.SH SYNOPSIS', '.B nodenet', '[\\fIglobal options\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...');
  out.push('.SH DESCRIPTION');
  out.push(
    roff(
      'nodenet edits /etc/network/interfaces losslessly, serves a Proxmox VE compatible REST API and web UI, and applies changes with ifupdown2 inside a confirm window that rolls back by itself when nobody confirms. Edits are staged in /etc/network/interfaces.new and never touch the live file until `nodenet apply`.',
    ),
  );
  out.push('.SH GLOBAL OPTIONS');
  for (const o of d.globals) out.push('.TP', `.B ${roff(o.flag)}${o.arg ? ` \\fI${roff(o.arg)}\\fR` : ''}`, roff(o.desc));
  out.push('.SH COMMANDS');
  for (const c of d.commands) {
    out.push('.SS', `.B ${roff(c.name)}`);
    out.push(`\\- ${roff(c.summary)}`, '.PP', '.nf', roff(`nodenet ${c.usage.split(' | ').join('\nnodenet ')}`), '.fi', '.PP', '.nf', roff(c.help), '.fi');
  }
  out.push('.SH FILES');
  out.push(
    '.TP',
    '.I /etc/default/nodenet',
    roff('listen address, port, backend and TLS paths of nodenet.service (NODENET_LISTEN, NODENET_PORT, NODENET_BACKEND, NODENET_TLS_KEY, NODENET_TLS_CERT).'),
    '.TP',
    '.I /etc/nodenet/',
    roff('users.json (local users, roles, API tokens), nodenet-ssl.key and nodenet-ssl.pem (TLS).'),
    '.TP',
    '.I /var/lib/nodenet/',
    roff('history of applied configs, the pending-apply journal, audit.log and guard.log.'),
    '.TP',
    '.I /etc/pam.d/nodenet',
    roff('the PAM service used for NAME@pam logins.'),
  );
  out.push('.SH EXIT STATUS', roff('0 success, 1 refused or errors found, 2 usage or I/O error.'));
  out.push('.SH SEE ALSO', '.BR interfaces (5),', '.BR ifreload (8),', '.BR systemctl (1)');
  return `${out.join('\n')}\n`;
}

/** A bash completion script for nodenet: commands, their subcommands and options. */
export function bashCompletion(d: CliDefinitions): string {
  const q = (words: string[]) => `'${words.join(' ').replace(/'/g, '')}'`;
  const cases = d.commands
    .map((c) => `    ${c.name}) subs=${q(c.subcommands)}; opts=${q(c.options.map((o) => o.flag))} ;;`)
    .join('\n');
  const valued = [...new Set([...d.globals, ...d.commands.flatMap((c) => c.options)].filter((o) => o.arg).map((o) => o.flag))];
  return `# bash completion for nodenet(8): generated from the command definitions (nodenet --help).
_nodenet() {
    local cur prev cmd subs opts i
    cur=\${COMP_WORDS[COMP_CWORD]}
    prev=\${COMP_WORDS[COMP_CWORD-1]}
    case $prev in
        --root|--tls-key|--tls-cert) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
        --output-format) COMPREPLY=( $(compgen -W 'text json' -- "$cur") ); return ;;
        --backend) COMPREPLY=( $(compgen -W 'ifupdown2 netns none' -- "$cur") ); return ;;
    esac
    for i in ${q(valued)}; do [ "$prev" = "$i" ] && return; done
    cmd=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case \${COMP_WORDS[i]} in
            --root|--node|--output-format|--backend) ((i++)) ;;
            -*) ;;
            *) cmd=\${COMP_WORDS[i]}; break ;;
        esac
    done
    if [ -z "$cmd" ]; then
        COMPREPLY=( $(compgen -W ${q([...d.commands.map((c) => c.name), ...d.globals.map((o) => o.flag)])} -- "$cur") )
        return
    fi
    subs=; opts=
    case $cmd in
${cases}
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=( $(compgen -W "$opts --help ${d.globals.map((o) => o.flag).join(' ')}" -- "$cur") )
    elif [ -n "$subs" ] && [ "$prev" = "$cmd" ]; then
        COMPREPLY=( $(compgen -W "$subs" -- "$cur") )
    else
        COMPREPLY=( $(compgen -f -- "$cur") )
    fi
}
complete -F _nodenet nodenet
`;
}
