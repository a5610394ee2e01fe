/**
 * zod's generated parsers (compileFn) evaluate every optional field, union branch and catch as an immediately
 * called arrow: `let v3 = (() => { …; return v4; })();`. Run once at a start, over 1,000 orders of ~25 optional
 * fields each, that is ~25,000 closures made and called cold in V8's interpreter. This rewrites each one as a
 * labelled block with the same meaning — `let v3; iife0: { …; { v3 = (v4); break iife0; } }`, every `return X` of the
 * arrow itself (not of a function nested in it) becoming an assignment and a break out of its block — before the code
 * goes into the daemon bundles (zod-prebuild.ts). The trading state's parser, first run on 1,000 orders in a fresh
 * process: ~7.8 → ~4.9 ms (median of 4; 7 → 6 scavenges before a 1,000-order start is ready).
 *
 * It parses the code (TypeScript's parser, a build dependency already) rather than matching text, and leaves an
 * arrow as it is unless it is exactly that shape: not async, no parameters, a block body, called at once with no
 * arguments, its value declared (`let`/`const`) or assigned to a plain name by a statement of its own, and nothing
 * in its body that a block would change (bodyIsMovable: its own `var`, function, or binding of the target; a `try`).
 * The answers are the same either way (zod-compiled.test.ts compares the bundles' parsers with the schemas' own on
 * mutated files; zod-prebuild-inline.test.ts the shapes).
 */
import ts from 'typescript';

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** `code`, the statements of a function body, with each immediately called arrow of that shape made a block. */
export function inlineImmediateArrows(code: string): string {
  const prefix = 'function enclosing() {\n';
  const source = `${prefix}${code}\n}`;
  const sf = ts.createSourceFile('generated.js', source, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const edits: Edit[] = [];
  let labels = 0;
  const newLabel = (): string => {
    let label: string;
    do label = `iife${labels++}`;
    while (source.includes(label));
    return label;
  };

  const visit = (node: ts.Node): void => {
    const found = immediateArrow(node);
    if (found && bodyIsMovable(found.arrow.body as ts.Block, found.name)) {
      const label = newLabel();
      const body = found.arrow.body as ts.Block;
      const head = found.declared ? `let ${found.name}; ${label}: {` : `${label}: {`;
      edits.push({ start: node.getStart(sf), end: body.getStart(sf) + 1, text: head });
      for (const ret of ownReturns(body)) {
        const value = ret.expression;
        if (!value) {
          edits.push({
            start: ret.getStart(sf),
            end: ret.end,
            text: `{ ${found.name} = void 0; break ${label}; }`,
          });
          continue;
        }
        // around the value, not over it: what is rewritten inside it (an arrow of its own) keeps its own edits
        edits.push({ start: ret.getStart(sf), end: value.getStart(sf), text: `{ ${found.name} = (` });
        edits.push({ start: value.end, end: ret.end, text: `); break ${label}; }` });
      }
      edits.push({ start: body.end - 1, end: node.end, text: '}' });
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(sf, visit);

  edits.sort((a, b) => b.start - a.start);
  let out = source;
  for (const { start, end, text } of edits) out = out.slice(0, start) + text + out.slice(end);
  return out.slice(prefix.length, out.length - 2);
}

interface ImmediateArrow {
  /** The name its value goes to. */
  name: string;
  /** `let name = …` / `const name = …` (else `name = …;`). */
  declared: boolean;
  arrow: ts.ArrowFunction;
}

/** `let|const x = (() => {…})();` or `x = (() => {…})();` as a statement of its own, else undefined. */
function immediateArrow(node: ts.Node): ImmediateArrow | undefined {
  let name: ts.Node | undefined;
  let call: ts.Expression | undefined;
  let declared = false;
  if (ts.isVariableStatement(node)) {
    const list = node.declarationList;
    if (!(list.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const)) || list.declarations.length !== 1) return;
    name = list.declarations[0].name;
    call = list.declarations[0].initializer;
    declared = true;
  } else if (ts.isExpressionStatement(node) && ts.isBinaryExpression(node.expression)) {
    if (node.expression.operatorToken.kind !== ts.SyntaxKind.EqualsToken) return;
    name = node.expression.left;
    call = node.expression.right;
  }
  if (!name || !ts.isIdentifier(name) || !call || !ts.isCallExpression(call) || call.arguments.length) return;
  const callee = call.expression;
  if (!ts.isParenthesizedExpression(callee)) return;
  const arrow = callee.expression;
  if (!ts.isArrowFunction(arrow) || arrow.parameters.length || !ts.isBlock(arrow.body)) return;
  if (arrow.modifiers?.length) return;
  return { name: name.text, declared, arrow };
}

/**
 * Whether the arrow's body means the same as a block in the enclosing function, its value assigned to `target`. An
 * arrow binds no `this`, `arguments`, `super` or `new.target` of its own: those already are the enclosing
 * function's. What an arrow does scope is `var` and function declarations (hoisted to it): a body with one (outside
 * a function nested in it) stays. So does one that declares `target` itself anywhere (a `return target` there would
 * assign the inner binding), and one with a `try` (a `finally` may overrule a return: the assignment would stand).
 */
function bodyIsMovable(body: ts.Block, target: string): boolean {
  let movable = true;
  const visit = (node: ts.Node): void => {
    // a function nested in the body keeps its own declarations (and its returns are not the body's)
    if (!movable || (ts.isFunctionLike(node) && !ts.isFunctionDeclaration(node))) return;
    const declares =
      (ts.isVariableDeclaration(node) || ts.isBindingElement(node) || ts.isClassDeclaration(node)) &&
      node.name !== undefined &&
      ts.isIdentifier(node.name) &&
      node.name.text === target;
    if (
      declares ||
      ts.isFunctionDeclaration(node) ||
      ts.isTryStatement(node) ||
      (ts.isVariableDeclarationList(node) && !(node.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const)))
    ) {
      movable = false;
      return;
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(body, visit);
  return movable;
}

/** The return statements of the body's own function: none of a function nested in it. */
function ownReturns(body: ts.Block): ts.ReturnStatement[] {
  const found: ts.ReturnStatement[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node)) return;
    if (ts.isReturnStatement(node)) found.push(node);
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(body, visit);
  return found;
}
