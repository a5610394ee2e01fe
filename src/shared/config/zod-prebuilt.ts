/**
 * The parsers generated at build time for the schemas zod-compiled.ts compiles, by id. Empty here: the daemon
 * bundles replace this module with the one scripts/zod-prebuild.ts writes from zod's own code generator (see there),
 * so a start uses a parser compiled into the bundle (and its V8 code cache). Anything run from tsc's output (tests,
 * scripts) finds none and generates its parsers at run time, as zod-compiled.ts always did.
 */

/**
 * A parser generated at build time from the schema `schema()` returns: the parsed value, or zod's INVALID for the
 * runtime to decide. It calls `schema()` only when it needs a part of the schema (a default a value leaves out, a
 * refinement's check), never to make the parser.
 */
export type PrebuiltParserFactory = (schema: () => unknown) => (input: unknown) => unknown;

export const PREBUILT_PARSERS: Readonly<Record<string, PrebuiltParserFactory>> = {};
