/**
 * nodenet(8) and the bash completion, generated from the same command definitions as `--help`
 * so they never drift. {@link commandDefinitions} is the one adapter between the CLI's command
 * definitions and these generators: it reads the CLI's one declarative command table
 * (src/cli/spec.ts), which `--help` and the argument parser use too.
 */
import { COMMANDS, GLOBAL_OPTIONS, commandHelp, type CommandSpec, type OptionSpec } from './spec.ts';
import { version } from './main.ts';

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

function optionDef(o: OptionSpec): OptionDef {
  return { flag: `--${o.name}`, arg: o.value ?? '', desc: o.help };
}

/** The help text of a command without its usage line and the global options (the man page's body). */
function body(c: CommandSpec): string {
  const full = commandHelp(c);
  return full
    .slice(full.indexOf('\n\n') + 2)
    .replace(/\n\nGlobal options:\n[\s\S]*$/, '')
    .trimEnd();
}

/** The adapter: the CLI's one command table (src/cli/spec.ts), the same `--help` prints. */
export function commandDefinitions(): CliDefinitions {
  const commands: CommandDef[] = COMMANDS.map((c) => ({
    name: c.name,
    summary: c.summary,
    usage: c.usage,
    help: body(c),
    options: c.options.map(optionDef),
    subcommands: c.positionals[0]?.choices ? [...c.positionals[0].choices] : [],
  }));
  return { version: version(), commands, globals: GLOBAL_OPTIONS.map(optionDef) };
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
  for (const o of d.globals)
    out.push('.TP', `.B ${roff(o.flag)}${o.arg ? ` \\fI${roff(o.arg)}\\fR` : ''}`, roff(o.desc));
  out.push('.SH COMMANDS');
  for (const c of d.commands) {
    out.push('.SS', `.B ${roff(c.name)}`);
    out.push(
      `\\- ${roff(c.summary)}`,
      '.PP',
      '.nf',
      roff(`nodenet ${c.usage.split(' | ').join('\nnodenet ')}`),
      '.fi',
      '.PP',
      '.nf',
      roff(c.help),
      '.fi',
    );
  }
  out.push('.SH FILES');
  out.push(
    '.TP',
    '.I /etc/default/nodenet',
    roff(
      'listen address, port, backend and TLS paths of nodenet.service (NODENET_LISTEN, NODENET_PORT, NODENET_BACKEND, NODENET_TLS_KEY, NODENET_TLS_CERT).',
    ),
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
  const valued = [
    ...new Set([...d.globals, ...d.commands.flatMap((c) => c.options)].filter((o) => o.arg).map((o) => o.flag)),
  ];
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
