/**
 * Runtime validation of every method's params, mirroring the `RpcMethods` types in protocol.ts. A request
 * whose params do not match gets InvalidParams before any handler runs, so handlers can trust their input.
 * Objects are strict: an unknown field is refused rather than silently ignored (bump PROTOCOL_VERSION to add one).
 */
import * as z from 'zod';
import type { RpcMethod, RpcParams } from './protocol';

let noneSchema: z.ZodObject<Record<string, never>, z.core.$strict> | undefined;
const none = (): z.ZodObject<Record<string, never>, z.core.$strict> => (noneSchema ??= z.object({}).strict());

/**
 * Each method's params schema, built on its first request with params to check, not at the daemon's start: zod
 * builds a schema in ~50–100 µs of cold code per call (`z.string()`, each `.max()`), and these were ~2–3 ms of
 * every start before its first request could arrive.
 */
const builders: { [M in RpcMethod]: () => z.ZodType<RpcParams<M>> } = {
  hello: () =>
    z
      .object({
        token: z.string().max(1024),
        version: z.number().int(),
        client: z.string().min(1).max(100),
      })
      .strict(),
  ping: none,
  status: none,
  positions: none,
  orders: none,
  ordersPage: () => z.object({ cursor: z.string().max(64).optional() }).strict(),
  balance: none,
  pause: () => z.object({ reason: z.string().max(500).optional() }).strict(),
  resume: none,
  closeAll: none,
  inDoubtOrders: none,
  settleOrder: () =>
    z
      .object({
        clientOrderId: z.string().min(1).max(100),
        outcome: z.enum(['not-carried-out', 'carried-out']),
        executed: z.number().finite().positive().optional(),
        averagePrice: z.number().finite().positive().optional(),
        fee: z
          .object({ cost: z.number().finite().min(0), currency: z.string().min(1).max(20) })
          .strict()
          .optional(),
      })
      .strict(),
  writeOff: () =>
    z
      .object({
        symbol: z
          .string()
          .min(3)
          .max(40)
          .regex(/^[A-Za-z0-9]+\/[A-Za-z0-9]+(:[A-Za-z0-9]+)?$/),
      })
      .strict(),
  reconcile: none,
  report: none,
  subscribe: () => z.object({ afterSeq: z.number().int().min(0) }).strict(),
};

export type ParamsCheck<M extends RpcMethod> =
  { ok: true; params: RpcParams<M> } | { ok: false; problem: string };

/**
 * Methods that take no params, whose usual `{}` (or nothing) is accepted without running zod: the heartbeat's ping
 * is most of the requests, and zod's strict-object parse was ~0.4 µs of its ~13 µs round trip. Anything else they
 * are sent goes through their schema as before (the same answer, the same message).
 */
const NO_PARAMS: ReadonlySet<RpcMethod> = new Set(
  (Object.keys(builders) as RpcMethod[]).filter((m) => builders[m] === none),
);

const built = new Map<RpcMethod, z.ZodType>();

function schemaOf<M extends RpcMethod>(method: M): z.ZodType<RpcParams<M>> {
  let schema = built.get(method);
  if (!schema) built.set(method, (schema = builders[method]()));
  return schema as z.ZodType<RpcParams<M>>;
}

/** Validate params of `method`; omitted params count as `{}` (JSON-RPC allows leaving them out). */
export function checkParams<M extends RpcMethod>(method: M, raw: unknown): ParamsCheck<M> {
  if (NO_PARAMS.has(method) && (raw === undefined || isEmptyPlainObject(raw))) {
    return { ok: true, params: {} as RpcParams<M> };
  }
  const result = schemaOf(method).safeParse(raw === undefined ? {} : raw);
  if (result.success) return { ok: true, params: result.data };
  const problem = result.error.issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
  return { ok: false, problem };
}

function isEmptyPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype)
    return false;
  for (const key in value) if (Object.prototype.hasOwnProperty.call(value, key)) return false;
  return true;
}

export function isRpcMethod(name: unknown): name is RpcMethod {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(builders, name);
}
