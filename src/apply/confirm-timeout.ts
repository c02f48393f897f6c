/**
 * The confirm-timeout spec, the one range and meaning for every caller: the CLI's
 * `--confirm-timeout` (src/cli/spec.ts help, commands/apply.ts), the API's `confirm-timeout`
 * parameter, the local apply socket and the apply service. No heavy imports: the CLI's command
 * table loads it.
 */
import { NodenetError } from '../errors.ts';

/** Seconds of a confirm window: the CLI's `--confirm-timeout` and the API's `confirm-timeout`. */
export const CONFIRM_TIMEOUT = {
  minimum: 0,
  maximum: 86400,
  description:
    'seconds to wait for confirm before the previous configuration comes back by itself; 0 = no confirm window',
} as const;

/** The window a confirm-timeout asks for: undefined (none) for absent or 0. */
export function confirmWindow(seconds: number | undefined): number | undefined {
  return seconds === undefined || seconds === 0 ? undefined : seconds;
}

/** A confirm-timeout as typed on a command line (USAGE when outside {@link CONFIRM_TIMEOUT}). */
export function parseConfirmTimeout(v: string | undefined, what = '--confirm-timeout'): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\d{1,6}$/.test(v) ? Number(v) : NaN;
  if (!(n >= CONFIRM_TIMEOUT.minimum && n <= CONFIRM_TIMEOUT.maximum)) {
    throw new NodenetError(
      'USAGE',
      `${what}: a whole number of seconds from ${CONFIRM_TIMEOUT.minimum} (no window) to ${CONFIRM_TIMEOUT.maximum} (got ${v})`,
    );
  }
  return n;
}
