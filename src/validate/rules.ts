import type { Rule } from './index.ts';

/** Every rule family, in the order their diagnostics are produced. */
export const ALL_RULES: Rule[] = [];
