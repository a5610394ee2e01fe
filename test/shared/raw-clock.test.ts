/**
 * Every read of time and every timer in src/ goes through the injected clock, except the uses docs/architecture.md
 * lists under "Raw clock exceptions" (file and kind, each with its reason). Parsed with TypeScript's own parser:
 * a comment or a string naming `Date.now()` does not count, a call does.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from '../../harness/pm2';

type RawClockKind =
  'setTimeout' | 'setInterval' | 'Date.now' | 'performance.now' | 'new Date()' | 'Math.random()';

const KINDS: readonly RawClockKind[] = [
  'setTimeout',
  'setInterval',
  'Date.now',
  'performance.now',
  'new Date()',
  'Math.random()',
];

/** The raw clock uses of one source file's text, as `line: kind`. */
function rawClockUses(fileName: string, text: string): Array<{ line: number; kind: RawClockKind }> {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: Array<{ line: number; kind: RawClockKind }> = [];
  const add = (node: ts.Node, kind: RawClockKind): void => {
    found.push({ line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, kind });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && (node.text === 'setTimeout' || node.text === 'setInterval')) {
      const parent = node.parent;
      // `socket.setTimeout(…)` (the socket's own timeout) and a property named so are not the global timers;
      // `globalThis.setTimeout` is
      const member =
        (ts.isPropertyAccessExpression(parent) &&
          parent.name === node &&
          !(ts.isIdentifier(parent.expression) && parent.expression.text === 'globalThis')) ||
        ((ts.isPropertyAssignment(parent) ||
          ts.isMethodDeclaration(parent) ||
          ts.isPropertySignature(parent)) &&
          parent.name === node);
      if (!member) add(node, node.text);
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const name = `${node.expression.text}.${node.name.text}`;
      if (name === 'Date.now' || name === 'performance.now') add(node, name);
      // the jitter default (`random ?? Math.random`) names the function; calling it here is a raw read
      if (name === 'Math.random' && ts.isCallExpression(node.parent) && node.parent.expression === node)
        add(node, 'Math.random()');
    } else if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'Date' &&
      (node.arguments === undefined || node.arguments.length === 0)
    ) {
      add(node, 'new Date()');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** docs/architecture.md's "Raw clock exceptions": each listed file with the kinds it may use. */
function documentedExceptions(markdown: string): Map<string, Set<RawClockKind>> {
  const start = markdown.indexOf('\n### Raw clock exceptions\n');
  if (start < 0) throw new Error('docs/architecture.md has no "### Raw clock exceptions" section');
  const rest = markdown.slice(start + 1);
  const end = rest.slice(1).search(/\n#{1,3} /);
  const section = end < 0 ? rest : rest.slice(0, end + 1);
  const allowed = new Map<string, Set<RawClockKind>>();
  for (const entry of section.matchAll(/`(src\/[^`]+\.ts)` \(((?:[^()]|\(\))*)\)/g)) {
    const kinds = entry[2].split(',').map((k) => k.trim());
    for (const kind of kinds) {
      if (!KINDS.includes(kind as RawClockKind)) throw new Error(`unknown kind "${kind}" for ${entry[1]}`);
    }
    allowed.set(entry[1], new Set(kinds as RawClockKind[]));
  }
  return allowed;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

describe('raw clock uses in src/ (docs/architecture.md "Raw clock exceptions")', () => {
  const allowed = documentedExceptions(fs.readFileSync(path.join(REPO_ROOT, 'docs/architecture.md'), 'utf8'));
  const uses = new Map<string, Array<{ line: number; kind: RawClockKind }>>();
  for (const file of sourceFiles(path.join(REPO_ROOT, 'src'))) {
    const rel = path.relative(REPO_ROOT, file).split(path.sep).join('/');
    const found = rawClockUses(rel, fs.readFileSync(file, 'utf8'));
    if (found.length > 0) uses.set(rel, found);
  }

  it('finds each kind, and nothing in a comment, a string, a socket timeout or a jitter default', () => {
    const text = [
      '// Date.now() and setTimeout(f, 1) in a comment',
      "const s = 'new Date() in a string';",
      'socket.setTimeout(1_000);',
      'const random = opts.random ?? Math.random;',
      'const t = new Date(0);',
      'setTimeout(f, 1);',
      'globalThis.setInterval(f, 1);',
      'const now = Date.now;',
      'performance.now();',
      'new Date().toISOString();',
      'Math.random();',
      'arm(setTimeout);',
    ].join('\n');
    expect(rawClockUses('sample.ts', text)).to.deep.equal([
      { line: 6, kind: 'setTimeout' },
      { line: 7, kind: 'setInterval' },
      { line: 8, kind: 'Date.now' },
      { line: 9, kind: 'performance.now' },
      { line: 10, kind: 'new Date()' },
      { line: 11, kind: 'Math.random()' },
      { line: 12, kind: 'setTimeout' },
    ]);
  });

  it('every raw timer or clock read is a documented exception of its file', () => {
    const undocumented = [...uses].flatMap(([file, found]) =>
      found.filter((u) => !allowed.get(file)?.has(u.kind)).map((u) => `${file}:${u.line} ${u.kind}`),
    );
    expect(undocumented, 'move these onto the injected clock, or list them with their reason').to.deep.equal(
      [],
    );
  });

  it('every documented exception is still in the code (the list stays true)', () => {
    expect(allowed.size, 'the section lists the exceptions').to.be.greaterThan(0);
    const stale = [...allowed].flatMap(([file, kinds]) =>
      [...kinds].filter((k) => !uses.get(file)?.some((u) => u.kind === k)).map((k) => `${file} ${k}`),
    );
    expect(stale).to.deep.equal([]);
  });
});
