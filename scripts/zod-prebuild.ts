/**
 * The parsers zod generates for the big state files (src/shared/config/zod-compiled.ts), generated at BUILD time
 * instead of at each start: scripts/bundle.ts writes the module this returns into the daemon bundles in place of
 * src/shared/config/zod-prebuilt.ts, so a start with 1,000 open orders neither runs zod's code generator (~2 ms of
 * CPU per schema) nor compiles what it generated with `new Function` (the bundle's V8 code cache holds it).
 *
 * `compileFn` gives the code of a function whose free names are constants: `INVALID`, and values the code generator
 * handed it (a Set of an enum's values, a RegExp, zod's own helpers, a default's getter, a refinement's helper). The
 * code is zod's, its immediately called arrows made blocks of the same meaning (zod-prebuild-inline.ts: ~35% less
 * CPU for a start's first check of the trading state); each constant is written as an expression the bundle
 * evaluates at run time, those that need the schema against the same schema, built only when one is used (the factory
 * gets `s`, which builds it: zod-compiled.ts):
 * - a Set of plain values or a RegExp without state (no g or y flag): a literal of the same value;
 * - a function zod exports (its util helpers, mergeValues…) or Object.prototype's: that export;
 * - the getter of a `.default()` / `.prefault()` (`() => schema._zod.def.defaultValue`): the same getter on the node
 *   it reads (its path from `s()`), found by asking each such node's def for a token of its own while the getter is
 *   called;
 * - the helper around a `.superRefine()` / `.check()` function (it calls the check with a payload and answers its
 *   value, or INVALID when the check added an issue): the same helper around that check's function, looked up at its
 *   first call, found by handing compileFn a tagged stand-in for each check while it generates the code, then
 *   calling the helper.
 * Anything else fails the build, naming the schema and the constant — a part of the schema the generated code would
 * run (a runtime island) too, as it would need the schema at every start: a schema change never ships a parser
 * whose constants were guessed. The module installs nothing: zod-compiled.ts puts each parser in front of the
 * schema's own, and zod's own parser still decides and words every value the generated one does not accept.
 */
import * as z from 'zod';
import { compileFn, INVALID, util } from 'zod/v4/core';
import { inlineImmediateArrows } from './zod-prebuild-inline';

type Schema = z.ZodType;

/** A value of the schema graph and the expression that reaches it from the root (`s()`). */
interface Node {
  value: object;
  path: string;
}

/** Every object reachable from the root schema through its defs (shapes, inner types, checks…), with its path. */
function schemaGraph(root: Schema): Node[] {
  const seen = new Set<object>();
  const nodes: Node[] = [];
  const visit = (value: unknown, path: string): void => {
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value))
      return;
    seen.add(value);
    nodes.push({ value, path });
    if (
      typeof value === 'function' ||
      value instanceof RegExp ||
      value instanceof Set ||
      value instanceof Map
    )
      return;
    const zod = (value as { _zod?: { def?: unknown; check?: unknown } })._zod;
    if (zod) {
      visit(zod.def, `${path}._zod.def`);
      return;
    }
    for (const key of Object.keys(value)) {
      let child: unknown;
      try {
        child = (value as Record<string, unknown>)[key];
      } catch {
        continue;
      }
      visit(child, `${path}[${JSON.stringify(key)}]`);
    }
  };
  visit(root, 's()');
  return nodes;
}

/** The checks of the graph (a node whose `_zod.check` is a function), with the path to that function. */
function checksOf(nodes: Node[]): Array<{ check: { _zod: { check: unknown } }; path: string }> {
  return nodes.flatMap(({ value, path }) => {
    const zod = (value as { _zod?: { check?: unknown } })._zod;
    return zod && typeof zod.check === 'function'
      ? [{ check: value as { _zod: { check: unknown } }, path: `${path}._zod.check` }]
      : [];
  });
}

/** zod's exported functions and Object.prototype's methods, by identity → the expression naming them. */
function knownFunctions(): Map<unknown, string> {
  const known = new Map<unknown, string>();
  for (const name of Object.getOwnPropertyNames(Object.prototype)) {
    const fn = (Object.prototype as Record<string, unknown>)[name];
    if (typeof fn === 'function') known.set(fn, `Object.prototype.${name}`);
  }
  for (const [name, fn] of Object.entries(util)) if (typeof fn === 'function') known.set(fn, `util.${name}`);
  return known;
}

interface Captured {
  /** The factory's code: `return (input) => {…}`. */
  body: string;
  names: string[];
  values: unknown[];
  definite: unknown;
}

/**
 * compileFn's code and its constants: compileFn builds its function with `new Function(...names, body)` and calls
 * the factory with the values; a stand-in Function constructor records both.
 */
function capture(schema: Schema): Captured {
  const RealFunction = Function;
  let captured: Omit<Captured, 'definite'> | undefined;
  globalThis.Function = new Proxy(RealFunction, {
    construct(target, args: string[]) {
      const factory = new target(...args) as (...values: unknown[]) => unknown;
      return (...values: unknown[]) => {
        captured = { body: args[args.length - 1], names: args.slice(0, -1), values };
        return factory(...values);
      };
    },
  });
  let fn: { definite?: unknown };
  try {
    fn = compileFn(schema) as { definite?: unknown };
  } finally {
    globalThis.Function = RealFunction;
  }
  if (!captured) throw new Error('compileFn did not build its function with new Function');
  return { ...captured, definite: fn.definite };
}

function literalOf(value: unknown): string | undefined {
  if (value instanceof RegExp) return /[gy]/.test(value.flags) ? undefined : String(value);
  if (value instanceof Set) {
    const items = [...value];
    const plain = items.every(
      (v) =>
        v === null ||
        typeof v === 'string' ||
        typeof v === 'boolean' ||
        (typeof v === 'number' && Number.isFinite(v) && !Object.is(v, -0)),
    );
    return plain ? `new Set(${JSON.stringify(items)})` : undefined;
  }
  return undefined;
}

/** The node whose `def.defaultValue` `getter` reads, by giving each default node's def a token of its own. */
function defaultNodeOf(getter: () => unknown, nodes: Node[]): Node | undefined {
  const defs = nodes.filter(
    ({ value }) =>
      typeof value === 'object' &&
      Object.prototype.hasOwnProperty.call(value, 'defaultValue') &&
      !('_zod' in value),
  );
  const tokens = new Map<object, Node>();
  const saved = defs.map(
    ({ value }) => [value, Object.getOwnPropertyDescriptor(value, 'defaultValue')!] as const,
  );
  try {
    for (const node of defs) {
      const token = {};
      tokens.set(token, node);
      Object.defineProperty(node.value, 'defaultValue', { value: token, configurable: true });
    }
    let read: unknown;
    try {
      read = getter();
    } catch {
      return undefined;
    }
    return tokens.get(read as object);
  } finally {
    for (const [def, descriptor] of saved) Object.defineProperty(def, 'defaultValue', descriptor);
  }
}

/**
 * The code of one parser factory: `(s) => parser`, `s()` the schema it was generated from; the parser calls it only
 * for a default a value leaves out or a refinement's check, never while it is made.
 */
function parserFactory(id: string, schema: Schema, known: Map<unknown, string>): string {
  const nodes = schemaGraph(schema);
  const checks = checksOf(nodes);
  // each check's function replaced by a tagged stand-in while the code is generated: a helper built around one then
  // says which check it calls (the stand-in answers as a check that adds no issue)
  const tags = new Map<unknown, string>();
  let called: string | undefined;
  const originals = checks.map(({ check }) => check._zod.check);
  for (const { check, path } of checks) {
    const tag = (): void => {
      called = path;
    };
    tags.set(tag, path);
    check._zod.check = tag;
  }
  let captured: Captured;
  try {
    captured = capture(schema);
  } finally {
    checks.forEach(({ check }, i) => (check._zod.check = originals[i]));
  }
  const byValue = new Map<unknown, string>(nodes.map(({ value, path }) => [value, path]));
  const lines: string[] = [];
  captured.names.forEach((name, i) => {
    const value = captured.values[i];
    const fail = (why: string): never => {
      throw new Error(`cannot prebuild the parser of ${id}: constant ${name} (${why})`);
    };
    if (name === 'INVALID') {
      if (value !== INVALID) fail('INVALID is not zod/v4/core INVALID');
      return;
    }
    const literal = literalOf(value);
    if (literal) return lines.push(`const ${name} = ${literal};`);
    if (known.has(value)) return lines.push(`const ${name} = ${known.get(value)};`);
    // a part of the schema the generated code hands values to (a runtime island) would need the schema built at
    // every start (zod-compiled.ts builds it only for a value the parser refuses)
    if ((typeof value === 'object' || typeof value === 'function') && value !== null && byValue.has(value)) {
      return fail(
        `a part of the schema it runs (${byValue.get(value)}): the parser would need the schema built`,
      );
    }
    if (typeof value !== 'function') return fail(`a ${typeof value} it cannot write`);
    const source = String(value);
    if (/^\(\) => schema\._zod\.def\.defaultValue$/.test(source)) {
      const node = defaultNodeOf(value as () => unknown, nodes);
      if (!node) return fail('a default getter whose node was not found');
      return lines.push(`const ${name} = () => ${node.path}.defaultValue;`);
    }
    // a check's helper: called with a value, it calls its check once and hands the value back (no issue added)
    called = undefined;
    let answer: unknown;
    const probe = {};
    try {
      answer = (value as (v: unknown) => unknown)(probe);
    } catch {
      return fail(`a function it does not know: ${source.slice(0, 80)}`);
    }
    if (called === undefined || answer !== probe || !tags.size) {
      return fail(`a function it does not know: ${source.slice(0, 80)}`);
    }
    lines.push(`const ${name} = checkHelper(() => ${called});`);
  });
  const definite = captured.definite === undefined ? '' : `, definite: ${JSON.stringify(captured.definite)}`;
  return (
    `  ${JSON.stringify(id)}: (s) => {\n` +
    lines.map((l) => `    ${l}\n`).join('') +
    // the factory's code as compileFn gave it to new Function (\`return (input) => {…}\`), its free names the constants above
    `    const parser = (() => {\n${inlineImmediateArrows(captured.body)}\n})();\n` +
    `    return Object.assign(parser, { prebuilt: true${definite} });\n` +
    `  },\n`
  );
}

/**
 * The module that replaces src/shared/config/zod-prebuilt.ts in the daemon bundles: `PREBUILT_PARSERS`, one factory
 * per id. Throws when a schema's parser cannot be written (see above).
 */
export function prebuiltParsersModule(schemas: Record<string, Schema>): string {
  const known = knownFunctions();
  const factories = Object.entries(schemas).map(([id, schema]) => parserFactory(id, schema, known));
  return (
    `// Generated at build time by scripts/zod-prebuild.ts from zod's compileFn; do not edit.\n` +
    `import { $ZodAsyncError, INVALID, util } from 'zod/v4/core';\n` +
    // zod's helper around a check function (compile.js generateCustomRefineCheck): the check gets a payload, and its
    // value comes back when no issue was added
    `function pushIssue(issue) { this.issues.push(issue); }\n` +
    // the check is looked up in the schema at its first run, not when the parser is made (the schema is built then)
    `function checkHelper(checkOf) {\n` +
    `  let check;\n` +
    `  return (value) => {\n` +
    `    check ??= checkOf();\n` +
    `    const payload = { value, issues: [], addIssue: pushIssue };\n` +
    `    const result = check(payload);\n` +
    `    if (result instanceof Promise) throw new $ZodAsyncError();\n` +
    `    return payload.issues.length === 0 ? payload.value : INVALID;\n` +
    `  };\n` +
    `}\n` +
    `export const PREBUILT_PARSERS = {\n${factories.join('')}};\n`
  );
}
