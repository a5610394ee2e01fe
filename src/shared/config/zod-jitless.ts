/**
 * Imported first by each daemon's entry point (before any schema is built): zod compiles a fast parser per object
 * schema on its first parse (`new Function`), which pays off over many parses but costs ~10–20 ms at every start,
 * where each schema (config, state files) is parsed about once. Jitless parsing gives the same results.
 */
import * as z from 'zod';

z.config({ jitless: true });
