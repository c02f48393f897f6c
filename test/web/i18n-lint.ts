/**
 * A heuristic lint for the UI's language: string literals that read as English words and end up
 * in the page (element children, textContent/title/placeholder, aria-label, dialog titles, toasts,
 * returned labels) outside the catalogues (web/src/i18n/). A literal is "UI text" when it holds a
 * word of two or more lower-case letters and is not a bare technical token (`balance-rr`,
 * `layer2`); a line with `i18n-ok` (or the line above it) is let through on purpose.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

export interface Finding {
  file: string;
  line: number;
  text: string;
}

const UNITS = new Set(['bit', 'kbit', 'Mbit', 'Gbit']);
export function looksLikeUiText(s: string): boolean {
  const words = (s.match(/[A-Za-z]+/g) ?? []).filter((w) => /[a-z]{2,}/.test(w) && !UNITS.has(w));
  if (!words.length) return false;
  const w = s.trim();
  // a bare token: a catalogue key, a name, a kernel mode (`zh-CN`, `balance-rr`, `layer2`)
  if (!/\s/.test(w) && /^[A-Za-z0-9._+/:#-]+$/.test(w) && (w === w.toLowerCase() || /[._/-]/.test(w))) return false;
  return true;
}

const CALL_SINKS: Record<string, number> = {
  h: 2,
  s: 2,
  toast: 0,
  replaceChildren: 0,
  append: 0,
  prepend: 0,
  confirmDialog: 1,
  showLogin: 0,
};
const PROP_SINKS = new Set(['textContent', 'innerText', 'title', 'placeholder', 'ariaLabel']);
const KEY_SINKS = new Set([
  'title',
  'aria-label',
  'placeholder',
  'label',
  'explain',
  'when',
  'text',
  'message',
  'how',
  'alt',
]);

function staticText(n: ts.Node): string | null {
  if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) return n.text;
  if (ts.isTemplateExpression(n)) return [n.head.text, ...n.templateSpans.map((sp) => ` ${sp.literal.text}`)].join('');
  return null;
}

function calleeName(c: ts.CallExpression): string | undefined {
  const e = c.expression;
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return undefined;
}

/** Whether the value of `n` ends up as text in the page. */
function reachesPage(n: ts.Node): boolean {
  let cur = n;
  for (;;) {
    const p = cur.parent;
    if (!p) return false;
    if (ts.isParenthesizedExpression(p) || ts.isTemplateSpan(p) || ts.isTemplateExpression(p) || ts.isAsExpression(p)) {
      cur = p;
      continue;
    }
    if (ts.isConditionalExpression(p) && p.condition !== cur) {
      cur = p;
      continue;
    }
    if (
      ts.isBinaryExpression(p) &&
      [ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken, ts.SyntaxKind.PlusToken].includes(
        p.operatorToken.kind,
      )
    ) {
      cur = p;
      continue;
    }
    if (ts.isCallExpression(p)) {
      const name = calleeName(p);
      const idx = p.arguments.indexOf(cur as ts.Expression);
      return name !== undefined && name in CALL_SINKS && idx >= CALL_SINKS[name]!;
    }
    if (ts.isBinaryExpression(p) && p.operatorToken.kind === ts.SyntaxKind.EqualsToken && p.right === cur) {
      return ts.isPropertyAccessExpression(p.left) && PROP_SINKS.has(p.left.name.text);
    }
    if (ts.isPropertyAssignment(p) && p.initializer === cur) {
      const k = ts.isIdentifier(p.name) || ts.isStringLiteral(p.name) ? p.name.text : '';
      return KEY_SINKS.has(k);
    }
    if (ts.isReturnStatement(p) || ts.isArrowFunction(p)) return true;
    return false;
  }
}

export function lintFile(file: string, src = readFileSync(file, 'utf8')): Finding[] {
  const sf = ts.createSourceFile(file, src, ts.ScriptTarget.Latest, true);
  const lines = src.split('\n');
  const out: Finding[] = [];
  const visit = (n: ts.Node): void => {
    const text = staticText(n);
    if (text !== null) {
      const line = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
      const ok = /i18n-ok/.test(lines[line] ?? '') || /i18n-ok/.test(lines[line - 1] ?? '');
      const isImport = ts.isImportDeclaration(n.parent) || ts.isExportDeclaration(n.parent);
      if (!ok && !isImport && looksLikeUiText(text) && reachesPage(n)) out.push({ file, line: line + 1, text });
      if (ts.isTemplateExpression(n)) {
        n.templateSpans.forEach((sp) => visit(sp.expression));
        return;
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** Every .ts file under `dir` and its subfolders (dialogs/ …), except the catalogues in i18n/. */
export function lintDir(dir: string): Finding[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((d) =>
      d.isDirectory()
        ? d.name === 'i18n'
          ? []
          : lintDir(join(dir, d.name))
        : d.name.endsWith('.ts')
          ? lintFile(join(dir, d.name))
          : [],
    );
}
