// Types of scripts/gen-web.mjs for the TypeScript tests that import it.
export const SOURCES: readonly string[];
export function generated(root?: string): Map<string, string>;
export function stale(root?: string): string[];
