/**
 * Nothing reaches into the trading state through the order side (`manager.state…`, `orders.state…`): each engine
 * part is handed the state gateway, or a narrow read of it, by engine-parts.ts (docs/architecture.md, the engine
 * map's `state` row); the control handlers read the loop's snapshot and the order book. Only the owners may touch the
 * order manager's `state` or the wired order parts' (order-parts.ts `OrderParts.state`): the order manager itself,
 * order-parts.ts, which builds the gateway, and engine-parts.ts, which hands it out. Checked with TypeScript's own
 * type checker over src/: a use counts whatever the manager or the parts are called there (an alias, a
 * destructuring, a `Pick<OrderParts, 'state'>`); a comment, a string or another type's `state` does not.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from '../../../harness/pm2';

const ENGINE = 'src/trading/engine';
/** The files that may touch the order manager's or the order parts' `state`. */
const OWNERS = new Set([
  `${ENGINE}/orders/order-manager.ts`,
  `${ENGINE}/orders/order-parts.ts`,
  `${ENGINE}/engine-parts.ts`,
]);

/**
 * True when `symbol` is the `state` member OrderManager declares (order-manager.ts) or the one OrderParts declares
 * (order-parts.ts).
 */
function isManagerState(symbol: ts.Symbol | undefined): boolean {
  return (symbol?.declarations ?? []).some(
    (d) =>
      ((ts.isPropertyDeclaration(d) || ts.isGetAccessorDeclaration(d) || ts.isParameter(d)) &&
        ts.isClassDeclaration(d.parent) &&
        d.parent.name?.text === 'OrderManager' &&
        d.getSourceFile().fileName.endsWith('/order-manager.ts')) ||
      (ts.isPropertySignature(d) &&
        ts.isInterfaceDeclaration(d.parent) &&
        d.parent.name.text === 'OrderParts' &&
        d.getSourceFile().fileName.endsWith('/order-parts.ts')),
  );
}

/** Where the files `roots` (repo-relative) touch the order manager's `state`, as `file:line`. */
function reachThroughs(roots: string[], extra: Map<string, string> = new Map()): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(REPO_ROOT, 'tsconfig.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error('tsconfig.json could not be read');
  const options = { ...parsed.options, noEmit: true };
  const host = ts.createCompilerHost(options);
  const virtual = new Map([...extra].map(([rel, text]) => [path.join(REPO_ROOT, rel), text]));
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, version, ...rest) => {
    const text = virtual.get(path.resolve(name));
    return text === undefined
      ? getSourceFile.call(host, name, version, ...rest)
      : ts.createSourceFile(name, text, version, true);
  };
  host.fileExists = (name) => virtual.has(path.resolve(name)) || fileExists.call(host, name);
  host.readFile = (name) => virtual.get(path.resolve(name)) ?? readFile.call(host, name);
  const program = ts.createProgram(
    roots.map((r) => path.join(REPO_ROOT, r)),
    options,
    host,
  );
  const checker = program.getTypeChecker();
  const found: string[] = [];
  for (const source of program.getSourceFiles()) {
    const rel = path.relative(REPO_ROOT, source.fileName).split(path.sep).join('/');
    if (!rel.startsWith('src/') || OWNERS.has(rel)) continue;
    const add = (node: ts.Node): void => {
      found.push(`${rel}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`);
    };
    const visit = (node: ts.Node): void => {
      if (ts.isPropertyAccessExpression(node) && node.name.text === 'state') {
        if (isManagerState(checker.getSymbolAtLocation(node.name))) add(node);
      } else if (ts.isElementAccessExpression(node)) {
        if (isManagerState(checker.getSymbolAtLocation(node.argumentExpression))) add(node);
      } else if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent)) {
        const name = node.propertyName ?? node.name;
        if (ts.isIdentifier(name) && name.text === 'state') {
          const of = checker.getTypeAtLocation(node.parent);
          if (isManagerState(of.getProperty('state'))) add(node);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found.sort();
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(rel);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

describe('nothing reaches into the trading state through the order side', function () {
  // a type-checked program of src/ (~4 s; more on a busy machine)
  this.timeout(120_000);

  it('finds every way to reach it, and nothing else', () => {
    const sample = [
      "import type { OrderManager } from './order-manager';",
      "import type { OrderParts } from './order-parts';",
      "import type { StateGateway } from '../state/state-gateway';",
      '// orders.state.data in a comment',
      "export const s = 'manager.state in a string';",
      'export function f(manager: OrderManager, orders: OrderParts, state: StateGateway, other: { state: 1 }): unknown {',
      '  const o = orders;',
      '  const { state: renamed } = orders;',
      "  const narrow: Pick<OrderParts, 'state'> = orders;",
      '  return [o.state.data, renamed, narrow.state.pause, orders["state"], manager["state"], state.data, other.state];',
      '}',
    ].join('\n');
    const file = `${ENGINE}/orders/reach-through-sample.ts`;
    expect(reachThroughs([file], new Map([[file, sample]]))).to.deep.equal(
      [`${file}:10`, `${file}:10`, `${file}:10`, `${file}:10`, `${file}:8`].sort(),
    );
  });

  it('no file under src/ but its owners touches the order manager’s or the order parts’ state', () => {
    expect(
      reachThroughs(sourceFiles('src')),
      'hand the part the state gateway (or a narrow read of it) in engine-parts.ts',
    ).to.deep.equal([]);
  });
});
