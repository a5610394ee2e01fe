/**
 * The exception to the daemons' jitless zod (zod-jitless.ts): a schema built here keeps zod's compiled parser
 * (one `new Function` per object schema, on its first parse). For the element schemas of the collections a
 * start validates in full — the orders of the trading state and of the paper account — where one compile costs
 * less than interpreting hundreds of elements: with 1,000 open orders the two files took about half the CPU to
 * validate (measured on the restart path). Schemas parsed about once per start stay jitless. Same results
 * either way: only how zod runs the checks differs.
 */
import * as z from 'zod';

export function compiledSchema<T>(build: () => T): T {
  const { jitless } = z.config();
  z.config({ jitless: false });
  try {
    return build();
  } finally {
    z.config({ jitless });
  }
}
