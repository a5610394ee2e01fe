/**
 * Trading's control API as ops sees it. The telegram daemon passes its long-lived, reconnecting IpcClient; the CLI
 * opens a one-shot connection with `withTradingClient` (connect, call, close). Both satisfy `TradingRpc`.
 */
import type { Clock } from '../shared/clock';
import type { Secrets, SharedConfig } from '../shared/config/schema';
import { IpcError, IpcTimeoutError, errorMessage } from '../shared/errors';
import { IpcClient } from '../shared/ipc/client';
import { ONE_SHOT_CLIENT, type RpcMethod, type RpcParams, type RpcResult } from '../shared/ipc/protocol';
import { readIpcToken } from '../shared/ipc/token';
import type { Logger } from '../shared/logging/logger';

export interface TradingRpc {
  call<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>>;
  readonly connected: boolean;
}

/** Trading could not be reached at all (no token, refused, link failed): the CLI's exit code 3. */
export class TradingUnreachableError extends IpcError {}

/**
 * True when trading could not be reached (no token, refused connection, the link lost), false when it answered with
 * an error (refused…) or did not answer in time on a live link (IpcTimeoutError: it may still be working).
 */
export function isUnreachable(err: unknown): boolean {
  return (
    err instanceof TradingUnreachableError ||
    (err instanceof IpcError && err.code === undefined && !(err instanceof IpcTimeoutError))
  );
}

export interface OneShotOptions {
  config: Pick<SharedConfig, 'ipc'>;
  secrets: Secrets;
  /** Absolute data dir: the IPC token file lives there when BYNINJA_IPC_TOKEN is not set. */
  dataDir: string;
  logger: Logger;
  /** Client name trading logs for this connection; default `cli`. */
  client?: string;
  clock: Clock;
}

/**
 * Connects to trading, runs `fn`, always closes. No token file or a failed connect throws IpcError ("trading unreachable"),
 * which callers show as such (the CLI exits 3).
 */
export async function withTradingClient<T>(
  opts: OneShotOptions,
  fn: (trading: TradingRpc) => Promise<T>,
): Promise<T> {
  // Read, never create: a token invented here would not be the one trading knows.
  let token: string;
  try {
    token = await readIpcToken(opts.dataDir, opts.secrets.ipcToken);
  } catch (err) {
    throw new TradingUnreachableError(errorMessage(err), { dataDir: opts.dataDir }, { cause: err });
  }
  const client = new IpcClient({
    host: opts.config.ipc.host,
    port: opts.config.ipc.port,
    token,
    client: opts.client ?? ONE_SHOT_CLIENT,
    requestTimeoutMs: opts.config.ipc.requestTimeoutMs,
    heartbeatMs: opts.config.ipc.heartbeatMs,
    reconnect: false,
    logger: opts.logger,
    clock: opts.clock,
  });
  try {
    try {
      await client.connect();
    } catch (err) {
      const where = { host: opts.config.ipc.host, port: opts.config.ipc.port };
      throw new TradingUnreachableError(`cannot connect to trading: ${errorMessage(err)}`, where, {
        cause: err,
      });
    }
    return await fn(client);
  } finally {
    await client.close().catch(() => undefined);
  }
}
