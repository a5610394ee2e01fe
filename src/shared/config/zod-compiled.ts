/**
 * The exception to the daemons' jitless zod (zod-jitless.ts), for the files a start validates in full with up to
 * thousands of elements (the trading state's orders, the paper account's, the history journal's lines):
 * `z.compile` (zod ≥ 4.5, documented: same results, same issues) turns the whole schema into one generated function
 * that checks a value in a single walk and hands any value it does not accept to zod's own parser, which decides
 * and words the errors — a file is accepted only when the full schema accepts it.
 *
 * Compiling at run time costs ~3–5 ms of CPU per schema (cold: the code generator, then V8 compiling what it
 * generated), about what zod's jitless parser spends on 200–300 orders (~25 µs an order, cold): so where it is
 * compiled at run time (tests, scripts) a parser compiles only once it has had `COMPILE_FROM` elements to check (the
 * one being parsed included), and small files stay on the jitless parser. With 1,000 open orders the state and the
 * account took ~45 ms to validate and take ~15 ms, compile included.
 *
 * Only the parser is generated: `z.compile` also generates an assert-only validator for `schema.validate()`, a
 * second code generation and V8 compile of about the same size (half of compiling, ~3 ms per schema cold) that
 * nothing here calls. `z.withParser` installs the parser alone, with the same runtime fallback as `z.compile`.
 * `compileFn` is the code generator `z.compile` itself calls (exported and typed by `zod/v4/core`, documented as
 * internal): a zod upgrade that moves it fails the type-check and zod-compiled.test.ts, never silently.
 *
 * In the daemon bundles the parser is generated at build time instead (scripts/zod-prebuild.ts, from the same
 * compileFn: zod-prebuilt.ts), found by the parser's id and used from the first value: no code generation and no
 * `new Function` at a start, the bundle's V8 code cache holds its compiled code, and the schema itself is built only
 * for a value the generated parser refuses (compiledParser).
 */
import * as z from 'zod';
import { compileFn, INVALID } from 'zod/v4/core';
import { PREBUILT_PARSERS } from './zod-prebuilt';

/** Elements checked (orders, lines…) from which compiling at run time pays for itself. */
export const COMPILE_FROM = 200;

export interface CompiledParser<T> {
  /** The value as the full schema parses it, or throws its ZodError. */
  parse(data: unknown): T;
  safeParse(data: unknown): z.ZodSafeParseResult<T>;
}

/**
 * `schema()`'s parser. In a daemon bundle, the one generated at build time for `id` (zod-prebuilt.ts), from the first
 * value on: it needs no schema object for a value it accepts, so the schema is built (`schema()`, the first call
 * builds it) only when a value is refused — to decide and word the issues — or leaves out a defaulted field, and a
 * start whose files pass never builds it (1,000 orders: main-thread CPU to ready 149.3 → 142.9 ms, lower-half mean
 * of 20 alternated direct starts; with no orders, where zod's parser had checked the small files, 136.9 → 135.9: the
 * generated parser's first run costs no more than building the schema did). Elsewhere (tests and scripts run from
 * tsc's output have no prebuilt parsers): zod's own parser until `elementsOf` of the values parsed so far adds up to
 * COMPILE_FROM, then one compiled now. `elementsOf` says how much a value holds (an order count); it runs before the
 * value is checked, so it must not trust it.
 */
export function compiledParser<S extends z.ZodType>(
  id: string,
  schema: () => S,
  elementsOf: (data: unknown) => number,
): CompiledParser<z.output<S>> {
  const prebuilt = Object.prototype.hasOwnProperty.call(PREBUILT_PARSERS, id)
    ? PREBUILT_PARSERS[id]
    : undefined;
  let parser: CompiledParser<z.output<S>> | undefined;
  let seen = 0;
  const parserFor = (data: unknown): CompiledParser<z.output<S>> => {
    if (parser) return parser;
    if (prebuilt) return (parser = prebuiltInFrontOf(schema, prebuilt(schema)));
    seen += elementsOf(data);
    if (seen < COMPILE_FROM) return schema();
    return (parser = compileParser(schema()));
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
 * a value the generated code does not accept (INVALID) goes to the schema's parser (`schema()`, built then), which
 * decides and words the issues. Without withParser's clone of the schema and its walk for reference cycles (~1 ms of
 * every start for the two files; compileFn refused any cycle when the parser was generated).
 */
export function prebuiltInFrontOf<S extends z.ZodType>(
  schema: () => S,
  generated: (input: unknown) => unknown,
): CompiledParser<z.output<S>> {
  return {
    parse: (data) => {
      const out = generated(data);
      return out !== INVALID ? (out as z.output<S>) : schema().parse(data);
    },
    safeParse: (data) => {
      const out = generated(data);
      return out !== INVALID ? { success: true, data: out as z.output<S> } : schema().safeParse(data);
    },
  };
}

/** How many own keys `data[field]` has when it is an object, else 0: the size of a record of orders. */
export function keysIn(data: unknown, field: string): number {
  if (typeof data !== 'object' || data === null) return 0;
  const value = (data as Record<string, unknown>)[field];
  return typeof value === 'object' && value !== null ? Object.keys(value).length : 0;
}
