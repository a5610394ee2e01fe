/**
 * A host clock off the exchange's: every signed request carries our time, and the exchange refuses one outside its
 * window (Binance -1021 "Timestamp for this request was 1000ms ahead of the server's time." / "outside of the
 * recvWindow": timestamp < serverTime + 1 s and serverTime − timestamp ≤ recvWindow; Bybit 10002: server_time −
 * recv_window ≤ timestamp < server_time + 1 s; OKX 50102 "Timestamp request expired": more than 30 s off). ccxt
 * maps each of them to InvalidNonce, and signs with `nonce()` = its clock − `options.timeDifference` on all three.
 * OKX's create past its expTime (50036 / 50037 "Order expired.": the host 5–30 s behind, never refused for its
 * timestamp) is mapped to InvalidNonce by the profile, so it measures too. Bybit's trade service drops a create whose
 * timestamp is older than its recv_window when it takes it up — the gateway let it through — with -1 "request
 * expired: o@…, now[…] diff[…]", which ccxt reads as a bare ExchangeError (and the adapter as an unknown create
 * outcome: looked up): the profile's `clockRefusalCodes` make it measure too, its class unchanged.
 *
 * The offset is measured from the exchange's server-time endpoint (ccxt `loadTimeDifference`, public, unsigned,
 * through the rate-limit gate) and set as ccxt's `timeDifference`, so every later request is signed on the exchange's
 * time, and the engine reads the exchange's time as host time less it (exchange.ts `exchangeClock`: candles, fills,
 * adopted orders). It is measured with the first tick's reads, after ready (beside recovery's reads it delayed them
 * behind ccxt's throttle; nothing waits for it but the first candles), every hour after (`SKEW_REMEASURE_MS`: a
 * drifting clock) — a scheduled measurement that fails (the network down at boot, the rate-limit gate closed) is
 * tried again on the one backoff (`SKEW_RETRY`, shared/retry.ts) until one succeeds, never left at 0 for an
 * hour — and on such a refusal — at most once a minute however many requests were refused together (a
 * scheduled measurement running is the one they wait for). The refused request itself stays refused (the exchange did not carry it out); a read's retry
 * goes out with the offset, a create is sent again only as a new decision. Each measurement is reported
 * (`onMeasured`): the engine alerts `clock.skew` once, and again only if the offset moved by a second or more.
 */
import type { Logger } from '../../shared/logging/logger';
import type { Exchange as CcxtClient } from 'ccxt';
import type { ClockSkew } from './exchange';
import { withGateBudget } from './rate-limit-gate';

/** At most one measurement this often (a burst of refused requests measures once). */
export const SKEW_MEASURE_INTERVAL_MS = 60_000;

/** A scheduled measurement this often: a host clock drifting (or stepped) is followed without waiting for a refusal. */
export const SKEW_REMEASURE_MS = 3_600_000;

/**
 * The backoff a scheduled measurement that failed is tried again on (shared/retry.ts `retryForever`): 1 s doubling,
 * at most a minute apart (the refusal's own measurement interval), until one succeeds.
 */
export const SKEW_RETRY = { baseDelayMs: 1_000, maxDelayMs: SKEW_MEASURE_INTERVAL_MS } as const;

/**
 * The longest the server-time read waits at the rate-limit gate and the pacing after it: it runs in a context of its
 * own, never the refused caller's (a create's budget and order lane), so a closed gate (or an endpoint window with no
 * room in time) refuses it unsent at once-ish instead of holding every refused request (a create included) through a
 * ban; it is then measured again at the next refusal.
 */
export const SKEW_MEASURE_GATE_WAIT_MS = 2_000;

/** Whether a refusal should measure now: never measured, or the last one at least the interval ago. */
export function measureDue(lastMeasuredAt: number | undefined, now: number): boolean {
  return lastMeasuredAt === undefined || now - lastMeasuredAt >= SKEW_MEASURE_INTERVAL_MS;
}

/**
 * Whether a failed request was refused for its timestamp: ccxt's InvalidNonce, or one of the exchange's own codes
 * (`codes`, the profile's `clockRefusalCodes`, as the adapter records them on the error: `exchangeCode`) that ccxt
 * classes otherwise (pure).
 */
export function refusedForTime(err: unknown, codes: readonly string[] = []): boolean {
  const e = err as { name?: unknown; exchangeCode?: unknown } | undefined;
  if (e?.name === 'InvalidNonce') return true;
  return typeof e?.exchangeCode === 'string' && codes.includes(e.exchangeCode);
}

export interface ClockSkewOptions {
  now: () => number;
  /** The exchange's codes of a timestamp refusal ccxt does not read as InvalidNonce (refusedForTime). */
  codes?: readonly string[];
  logger?: Logger;
  /** The refusal in words, free of secrets (ccxt's own message may carry the signed URL). */
  describe: (err: unknown) => string;
  onMeasured: (skew: ClockSkew) => void;
}

/**
 * Measures the offset now (a scheduled measurement); never rejects: true when measured, false when the server time
 * could not be read (the caller tries again: ccxt-exchange.ts). One already running is the one awaited.
 */
export type MeasureClockSkew = () => Promise<boolean>;

/**
 * Watches every request ccxt sends (`fetch2`, the one method its REST calls go through, signing included): a
 * timestamp refusal measures the offset (when due) before the refusal is passed on, so the caller's next request is
 * signed on the exchange's time. Returns the scheduled measurement (the first tick's, hourly: ccxt-exchange.ts).
 */
export function correctClockSkew(client: CcxtClient, opts: ClockSkewOptions): MeasureClockSkew {
  type Fetch2 = (...args: unknown[]) => Promise<unknown>;
  const target = client as unknown as { fetch2: Fetch2; options: Record<string, unknown> };
  const original = target.fetch2.bind(client) as Fetch2;
  let lastMeasuredAt: number | undefined;
  let measuring: Promise<boolean> | undefined;
  const measure = async (refusal: string | undefined): Promise<boolean> => {
    try {
      const offsetMs = Math.round(
        Number(await withGateBudget(SKEW_MEASURE_GATE_WAIT_MS, () => client.loadTimeDifference())),
      );
      const how = `host clock ${Math.abs(offsetMs)} ms ${offsetMs >= 0 ? 'ahead of' : 'behind'} the exchange's`;
      if (refusal !== undefined) {
        opts.logger?.warn(
          `${client.id} refused a request's timestamp (${refusal}): ${how}; requests now signed on the exchange's time`,
          { offsetMs },
        );
      } else {
        opts.logger?.info(`${client.id} server time read: ${how}`, { offsetMs });
      }
      opts.onMeasured(refusal === undefined ? { offsetMs } : { offsetMs, refusal });
      return true;
    } catch (err) {
      lastMeasuredAt = undefined; // not measured: the next refusal tries again (a closed gate sends nothing)
      opts.logger?.warn(`${client.id} server time could not be read to measure the clock offset`, {
        error: opts.describe(err),
      });
      return false;
    }
  };
  const start = (refusal: string | undefined): Promise<boolean> => {
    // a scheduled measurement never holds back one a refusal asks for (the clock may have stepped since)
    if (refusal !== undefined) lastMeasuredAt = opts.now();
    measuring = measure(refusal).finally(() => (measuring = undefined));
    return measuring;
  };
  target.fetch2 = async (...args: unknown[]) => {
    try {
      return await original(...args);
    } catch (err) {
      if (refusedForTime(err, opts.codes)) {
        if (!measuring && measureDue(lastMeasuredAt, opts.now())) void start(opts.describe(err));
        await measuring;
      }
      throw err;
    }
  };
  return () => measuring ?? start(undefined);
}
