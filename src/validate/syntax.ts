/**
 * Syntax beyond the parser: options whose spelling is one or two letters away from a
 * well-known option. The parser already reports unknown top-level lines
 * (UNKNOWN_KEYWORD) and options outside a stanza (OPTION_OUTSIDE_STANZA).
 */
import { didYouMean } from '../interfaces/suggest.ts';
import { KNOWN_OPTIONS, isKnownOption } from '../model/options.ts';
import type { Rule } from './context.ts';
import { atOptionName, localRule } from './common.ts';

/** Suggestions by unknown option key (the same few keys recur across interfaces). */
const memo = new Map<string, string | undefined>();

/**
 * OPTION_MISSPELT: an unknown option that is a near miss of a known one (error: the line does
 * nothing, and a missing `bridge-ports` leaves a bridge without its uplink).
 * UNKNOWN_LINE_IN_STANZA: an unknown word at column 0 inside a stanza, which is usually a
 * top-level line in another tool's syntax that ifupdown2 silently attaches to the stanza above.
 * UNKNOWN_OPTION: any other unknown option (warning: add-ons may define more options).
 * `mapping`, `source-directory` and `rename` lines are left to IFUPDOWN1_* (src/validate/
 * ifupdown1.ts), which say what ifupdown2 does with them and how to write them instead.
 */
export const misspeltOptions: Rule = localRule((i, _ctx, out) => {
  for (const o of i.options) {
    if (isKnownOption(o.key)) continue;
    if (o.name === 'mapping' || o.name === 'source-directory' || o.name.toLowerCase() === 'rename') continue;
    let s = memo.get(o.key);
    if (!memo.has(o.key)) {
      if (memo.size >= 1024) memo.clear(); // bounded: keys come from whatever files are checked
      // Two-letter words match too much (`ip` → `up`); only suggest for longer ones.
      s = o.key.length > 2 ? didYouMean(o.key, KNOWN_OPTIONS) : undefined;
      memo.set(o.key, s);
    }
    if (s === undefined) {
      const col0 = o.node.line.indent === '';
      out.push(
        atOptionName(
          col0
            ? {
                severity: 'error',
                code: 'UNKNOWN_LINE_IN_STANZA',
                message: `'${o.name}' is not a keyword of this file; ifupdown2 reads the line as an option of ${i.name}, the stanza above it`,
                iface: i.name,
                hint: 'top-level lines are iface, auto, allow-*, source and vlan; rewrite it in that syntax or delete it',
              }
            : {
                severity: 'warning',
                code: 'UNKNOWN_OPTION',
                message: `${i.name}: unknown option '${o.name}'`,
                iface: i.name,
                hint: 'check the spelling; ifupdown2 ignores options that no installed add-on handles',
              },
          o,
        ),
      );
      continue;
    }
    // Keep the file's spelling style in the suggestion (bridge_ports stays with underscores).
    const shown = o.name.includes('_') && !o.name.includes('-') ? s.replace(/-/g, '_') : s;
    out.push(
      atOptionName(
        {
          severity: 'error',
          code: 'OPTION_MISSPELT',
          message: `${i.name}: unknown option '${o.name}'; did you mean '${shown}'?`,
          iface: i.name,
          hint: `ifupdown2 ignores or rejects unknown options, so this line does nothing; write '${shown}'`,
        },
        o,
      ),
    );
  }
});
