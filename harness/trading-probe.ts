/** Talks to a running trading daemon over the internal TCP layer, one fresh connection per request. */
import { systemClock } from '../src/shared/clock';
import { IpcClient } from '../src/shared/ipc/client';
import type { RpcMethod, RpcParams, RpcResult, TradingStatus } from '../src/shared/ipc/protocol';
import { silentLogger } from '../src/shared/logging/logger';

export class TradingProbe {
  constructor(
    readonly port: number,
    readonly token: string,
  ) {}

  /** One request on a fresh connection (no reconnect logic in the way of what is measured). */
  async call<M extends RpcMethod>(method: M, params: RpcParams<M>, timeoutMs = 3_000): Promise<RpcResult<M>> {
    const client = new IpcClient({
      host: '127.0.0.1',
      port: this.port,
      token: this.token,
      client: 'chaos',
      requestTimeoutMs: timeoutMs,
      heartbeatMs: 60_000,
      reconnect: false,
      logger: silentLogger(),
      clock: systemClock,
    });
    try {
      await client.connect();
      return await client.call(method, params);
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  /** Trading's status, or undefined while it does not answer. */
  async status(timeoutMs = 2_000): Promise<TradingStatus | undefined> {
    try {
      return await this.call('status', {}, timeoutMs);
    } catch {
      return undefined;
    }
  }

  /**
   * Waits until trading answers `status` with loopState running or paused (optionally from a process other than
   * `notPid`, i.e. after a restart); resolves with the status and when it was first seen.
   */
  async waitRunning(timeoutMs: number, notPid?: number): Promise<{ status: TradingStatus; at: number }> {
    const deadline = Date.now() + timeoutMs;
    let last: TradingStatus | undefined;
    while (Date.now() < deadline) {
      last = await this.status();
      if (last && (last.loopState === 'running' || last.loopState === 'paused') && last.pid !== notPid)
        return { status: last, at: Date.now() };
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `trading not running within ${timeoutMs} ms (last status ${JSON.stringify(last ?? null)})`,
    );
  }
}
