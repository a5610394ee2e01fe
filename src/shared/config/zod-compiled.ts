/**
 * The exception to the daemons' jitless zod (zod-jitless.ts), for the files a start validates in full with up to
 * thousands of elements (the trading state's orders, the paper account's, the history journal's lines):
 * `z.compile` (zod ≥ 4.5, documented: same results, same issues) turns the whole schema into one generated function
 * that checks a value in a single walk and hands any value it does not accept to zod's own parser, which decides
 * and words the errors — a file is accepted only when the full schema accepts it.
 *
 * Compiling costs ~3–5 ms of CPU per schema (cold: the code generator, then V8 compiling what it generated), about
 * what zod's jitless parser spends on 200–300 orders (~25 µs an order, cold): so a parser compiles only once it has
 * had `COMPILE_FROM` elements to check (the one being parsed included), and small files — every start of a bot
 * with a few open orders — stay on the jitless parser. With 1,000 open orders the state and the account took
 * ~45 ms to validate and take ~15 ms, compile included.
 *
 * Only the parser is generated: `z.compile` also generates an assert-only validator for `schema.validate()`, a
 * second code generation and V8 compile of about the same size (half of compiling, ~3 ms per schema cold) that
 * nothing here calls. `z.withParser` installs the parser alone, with the same runtime fallback as `z.compile`.
 * `compileFn` is the code generator `z.compile` itself calls (exported and typed by `zod/v4/core`, documented as
 * internal): a zod upgrade that moves it fails the type-check and zod-compiled.test.ts, never silently.
 *
 * In the daemon bundles the parser is generated at build time instead (scripts/zod-prebuild.ts, from the same
 * compileFn: zod-prebuilt.ts), found by the parser's id: no code generation and no `new Function` at a start, and
 * the bundle's V8 code cache holds its compiled code.
 */
import * as z from 'zod';
import { compileFn, INVALID } from 'zod/v4/core';
import { PREBUILT_PARSERS } from './zod-prebuilt';

/** Elements checked (orders, lines…) from which compiling pays for itself. */
export const COMPILE_FROM = 200;

export interface CompiledParser<T> {
  /** The value as the full schema parses it, or throws its ZodError. */
  parse(data: unknown): T;
  safeParse(data: unknown): z.ZodSafeParseResult<T>;
}

/**
 * `schema`'s parser: zod's own until `elementsOf` of the values parsed so far adds up to COMPILE_FROM, then the one
 * generated at build time for `id` when the bundle has it, else one compiled now. `elementsOf` says how much a value
 * holds (an order count); it runs before the value is checked, so it must not trust it. Small files stay on zod's
 * parser in a bundle too: a live start with a few orders spent ~3 ms more main-thread CPU before its first request
 * with the generated parser (its factory and V8's first run of a 40 KB function; 12 alternated direct starts) than
 * zod's parser takes for them.
 */
export function compiledParser<S extends z.ZodType>(
  id: string,
  schema: S,
  elementsOf: (data: unknown) => number,
): CompiledParser<z.output<S>> {
  const prebuilt = Object.prototype.hasOwnProperty.call(PREBUILT_PARSERS, id)
    ? PREBUILT_PARSERS[id]
    : undefined;
  let parser: CompiledParser<z.output<S>> | undefined;
  let seen = 0;
  const parserFor = (data: unknown): CompiledParser<z.output<S>> => {
    if (parser) return parser;
    seen += elementsOf(data);
    if (seen < COMPILE_FROM) return schema;
    parser = prebuilt ? prebuiltInFrontOf(schema, prebuilt(schema)) : compileParser(schema);
    return parser;
  };
  return {
    parse: (data) => parserFor(data).parse(data),
    safeParse: (data) => parserFor(data).safeParse(data),
  };
}

/**
 * `schema` with its generated parser installed (what `z.compile` does, without the validator), or `schema` itself
 * when zod cannot generate one (as `z.compile` returns it then): the answer is the same either way.
 */
function compileParser<S extends z.ZodType>(schema: S): S {
  try {
    return z.withParser(schema, compileFn(schema));
  } catch {
    return schema;
  }
}

/**
 * A build-time parser in front of the schema's own, as `z.withParser` puts one in front of `parse` and `safeParse`:
 * a value the generated code does not accept (INVALID) goes to the schema's parser, which decides and words the
 * issues. Without withParser's clone of the schema and its walk for reference cycles (~1 ms of every start for the
 * two files; compileFn refused any cycle when the parser was generated).
 */
export function prebuiltInFrontOf<S extends z.ZodType>(
  schema: S,
  generated: (input: unknown) => unknown,
): CompiledParser<z.output<S>> {
  return {
    parse: (data) => {
      const out = generated(data);
      return out !== INVALID ? (out as z.output<S>) : schema.parse(data);
    },
    safeParse: (data) => {
      const out = generated(data);
      return out !== INVALID ? { success: true, data: out as z.output<S> } : schema.safeParse(data);
    },
  };
}

/** How many own keys `data[field]` has when it is an object, else 0: the size of a record of orders. */
export function keysIn(data: unknown, field: string): number {
  if (typeof data !== 'object' || data === null) return 0;
  const value = (data as Record<string, unknown>)[field];
  return typeof value === 'object' && value !== null ? Object.keys(value).length : 0;
}
