/**
 * The names of ccxt's implicit REST methods, worked out at build time. ccxt's constructor defines two methods per
 * endpoint of the exchange's API (`publicGetExchangeInfo` and `public_get_exchangeinfo`: Binance has 822), each name
 * built from the endpoint's path with splits, maps and joins — ~5 ms of every live start's CPU before its first
 * request (direct construct of ccxt's binance, median of fresh processes: ~17 → ~12 ms). The build records the names
 * ccxt gives each endpoint (`recordRestNames`, scripts/bundle.ts: into the exchange's ccxt bundle as `restNames`), and
 * the adapter constructs ccxt (`constructWithRestNames`) with a `defineRestApiEndpoint` that takes them from that
 * record and defines each method as ccxt's does. The names are a pure function of the endpoint's inputs (its path, the API
 * path above it, the HTTP method), which each record row holds: a row is used only where they match the endpoint
 * ccxt is defining, and from the first that does not (another ccxt, options that change the API) ccxt's own
 * definition runs for that endpoint and every later one.
 */

/** One endpoint as ccxt defines it: its inputs, then the two names it gets. */
export type RestNameRow = [
  methodName: string,
  uppercaseMethod: string,
  path: string,
  paths: string,
  camelcase: string,
  underscore: string,
];

type CcxtLike = new (config: Record<string, unknown>) => object;

/** ccxt's `defineRestApiEndpoint` signature (base/Exchange.js). */
type DefineEndpoint = (
  methodName: string,
  uppercaseMethod: string,
  lowercaseMethod: string,
  camelcaseMethod: string,
  path: string,
  paths: string[],
  config?: Record<string, unknown>,
) => void;

const PATHS_SEPARATOR = '\u0000';

/**
 * The names ccxt's constructor gives each endpoint of `Ctor`, in the order it defines them (build time: one
 * instance is constructed, each endpoint's two names read off what ccxt's own definition sets).
 */
export function recordRestNames(Ctor: CcxtLike): RestNameRow[] {
  const rows: RestNameRow[] = [];
  const define = (Ctor.prototype as { defineRestApiEndpoint: DefineEndpoint }).defineRestApiEndpoint;
  class Recording extends Ctor {
    defineRestApiEndpoint(...args: Parameters<DefineEndpoint>): void {
      const [methodName, uppercaseMethod, , , path, paths] = args;
      const set: string[] = [];
      // ccxt's own definition, its two assignments caught on the way to the instance
      const catcher = new Proxy(this, {
        set: (target, key, value) => {
          if (typeof key === 'string') set.push(key);
          return Reflect.set(target, key, value);
        },
      });
      define.apply(catcher, args);
      if (set.length !== 2) throw new Error(`ccxt defined ${set.length} names for ${path}, not 2`);
      rows.push([methodName, uppercaseMethod, path, paths.join(PATHS_SEPARATOR), set[0], set[1]]);
    }
  }
  new Recording({});
  return rows;
}

/**
 * `new Ctor(config)` with its implicit REST methods named from `rows` (recordRestNames of the same ccxt), each defined
 * as ccxt's `defineRestApiEndpoint` defines it; an endpoint the rows do not match in order is left to ccxt, and every
 * later one too. ccxt's own `defineRestApiEndpoint` is replaced where its base class has it for this construction
 * only (not in a subclass: the constructor gives every property of the prototype chain a snake_case twin, and the
 * instance keeps exactly the properties, in the order, ccxt gives it).
 */
export function constructWithRestNames<T extends object>(
  Ctor: new (config: Record<string, unknown>) => T,
  rows: readonly RestNameRow[],
  config: Record<string, unknown>,
): T {
  let owner = Ctor.prototype as { defineRestApiEndpoint?: DefineEndpoint } | null;
  while (owner && !Object.prototype.hasOwnProperty.call(owner, 'defineRestApiEndpoint'))
    owner = Object.getPrototypeOf(owner) as typeof owner;
  const define = owner?.defineRestApiEndpoint;
  if (!owner || !define) return new Ctor(config);
  /** The next row to match; -1 once one did not (ccxt names the rest). */
  let at = 0;
  owner.defineRestApiEndpoint = function defineRestApiEndpoint(
    this: object,
    ...args: Parameters<DefineEndpoint>
  ): void {
    const [methodName, uppercaseMethod, , , path, paths, endpointConfig = {}] = args;
    const row = at >= 0 ? rows[at] : undefined;
    if (
      !row ||
      row[0] !== methodName ||
      row[1] !== uppercaseMethod ||
      row[2] !== path ||
      row[3] !== paths.join(PATHS_SEPARATOR)
    ) {
      at = -1;
      define.apply(this, args);
      return;
    }
    at += 1;
    // as ccxt's defineRestApiEndpoint
    const typeArgument = paths.length > 1 ? paths : paths[0];
    const self = this as Record<string, unknown> & Record<string, (...args: unknown[]) => Promise<unknown>>;
    const partial = async (params: unknown = {}, context: unknown = {}): Promise<unknown> =>
      self[methodName](
        path,
        typeArgument,
        uppercaseMethod,
        params,
        undefined,
        undefined,
        endpointConfig,
        context,
      );
    self[row[4]] = partial;
    self[row[5]] = partial;
  };
  try {
    return new Ctor(config);
  } finally {
    owner.defineRestApiEndpoint = define;
  }
}
