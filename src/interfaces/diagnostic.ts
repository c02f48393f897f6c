/**
 * One diagnostic shape everywhere: parser, validator, API `errors`, CLI and UI
 * (design.md convention 4).
 */
import type { DiagnosticCode } from './codes.ts';

export type Severity = 'error' | 'warning' | 'info';
export type { DiagnosticCode } from './codes.ts';

export interface Diagnostic {
  severity: Severity;
  /** Stable upper-case code from the catalogue in codes.ts, documented in docs/diagnostics.md. */
  code: DiagnosticCode;
  /** One sentence naming the things involved ("eno1 is already a port of vmbr0"). */
  message: string;
  /** 1-based line and column in `file`; 0 when the diagnostic is not tied to a place. */
  line: number;
  column: number;
  /** Interface the diagnostic concerns, when there is one. */
  iface?: string;
  /** File name (as the user gave it, or `interfaces` / `interfaces.new`). */
  file?: string;
  /** How to fix it, where a fix is known. */
  hint?: string;
  /** The option the diagnostic concerns (`bridge-ports`), for the UI to place it at a field. */
  option?: string;
}

const ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Sort by line, column, then severity (errors first); stable for equal keys. */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.line - b.line || a.column - b.column || ORDER[a.severity] - ORDER[b.severity]);
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}
