/**
 * A live restart's first reads, sent before ccxt is loaded. Loading and constructing ccxt's exchange (~40 ms of CPU)
 * and its HTTP client's first request (~10 ms more) stood between the connections opened ahead (spare-connections.ts)
 * and the first bytes to the exchange; recovery's reads went a few milliseconds behind those. Where the profile says
 * how (`earlyReads`: the requests, as ccxt sends them, and how a private one is signed), the reads a restart makes at
 * once — the traded symbols' markets, the account, each symbol's recent orders, every open order, the balance — go
 * out on those connections as soon as they are open, and ccxt's own requests for them are answered with what the
 * exchange answered these (`take`, called from ccxt's HTTP client: ccxt handles each answer as its own — errors,
 * rate-limit headers, parsing — and paces and gates each request as it would).
 *
 * Only reads, and only at the start: an answer not asked for within `keepMs` of its sending is dropped, each is
 * handed out once, and a request that matches none (other params, a method other than GET) goes to the exchange as
 * before. Every answer not yet taken is dropped at the first request that is not a read (an order placed or
 * cancelled: what was read before it no longer holds) and at the first refusal for rate handed out (the gate waits,
 * and its probe after the wait must ask the exchange again, not take a refusal given before it). A read that failed
 * or timed out answers nothing: ccxt sends its request itself. Matching ignores the
 * parameters that differ at each signing (`volatileParams`: a timestamp, the signature). Nothing of a request is
 * logged; the key travels in its header as in ccxt's, the secret only into the signature.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { CancelTimer, Clock } from '../../shared/clock';

/** One read of the start: GET `path` (below the API URL) with `params`, signed where it is private. */
export interface EarlyRead {
  path: string;
  params: Record<string, string>;
  signed: boolean;
  /** The exchange's weight of it: a plan heavier than the profile's burst is not sent. */
  weight: number;
}

/** How the exchange's reads are asked before ccxt exists (ExchangeProfile.earlyReads). */
export interface EarlyReadsProfile {
  /** The start's reads for the traded markets' ids, as ccxt asks for them. */
  reads: (marketIds: readonly string[]) => EarlyRead[];
  /** Query parameters that differ at each signing: a request matches an early read whatever theirs are. */
  volatileParams: readonly string[];
  /** Whether `sign` signs as ccxt would with this secret (a key type it knows); false: nothing is sent early. */
  signs: (secret: string) => boolean;
  /** The query string and headers of a read: `params` signed with the credentials where `read.signed`. */
  sign: (
    read: EarlyRead,
    credentials: { apiKey: string; secret: string },
    now: number,
  ) => { query: string; headers: Record<string, string> };
}

/** What the exchange answered: status, headers as node gives them (lower-case names), the body's bytes. */
export interface EarlyAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface EarlyReadsOptions {
  /** scheme://host[:port][/path] the reads' paths are below (the API URL, or the profile's restOrigin). */
  base: string;
  reads: readonly EarlyRead[];
  profile: EarlyReadsProfile;
  credentials: { apiKey: string; secret: string };
  /**
   * A connection to the base's origin for each read (a spare opened ahead: SpareConnections.take, which waits at most
   * its takeWaitMs for one still opening), resolving undefined when none opened in time; undefined: that read is not
   * sent.
   */
  connection: () => Promise<Socket | undefined> | undefined;
  clock: Clock;
  /** A read not answered by then is given up (ccxt's request timeout). */
  timeoutMs: number;
  /** An answer not taken by then is dropped (default 10 s: the start's reads come within its first second). */
  keepMs?: number;
}

const KEEP_MS = 10_000;
/** Refusals for rate (rest-api.md "HTTP Return Codes": 429 a rate limit broken, 418 an IP ban, 403 the WAF limit). */
const RATE_REFUSALS: ReadonlySet<number> = new Set([403, 418, 429]);

export class EarlyReads {
  /** Answers not yet taken, by request key (the same read twice: in the order sent). */
  private readonly waiting = new Map<string, Array<Promise<EarlyAnswer | undefined>>>();
  private readonly volatile: ReadonlySet<string>;
  private readonly sockets = new Set<Socket>();
  private readonly dropAt: CancelTimer;
  private closed = false;
  /** Reads sent. */
  sent = 0;
  /** A refusal for rate was handed out: what was not taken is dropped, and the gate is closing. */
  refused = false;

  private constructor(private readonly opts: EarlyReadsOptions) {
    this.volatile = new Set(opts.profile.volatileParams);
    this.dropAt = opts.clock.timer(opts.keepMs ?? KEEP_MS, () => this.close(), { unref: true });
  }

  /** Sends `opts.reads` now, each on its own connection. */
  static send(opts: EarlyReadsOptions): EarlyReads {
    const early = new EarlyReads(opts);
    const now = opts.clock.now();
    for (const read of opts.reads) {
      const connection = opts.connection();
      if (!connection) continue;
      const { query, headers } = opts.profile.sign(read, opts.credentials, now);
      const url = new URL(`${opts.base.replace(/\/+$/, '')}${read.path}${query ? `?${query}` : ''}`);
      const key = requestKey('GET', url, early.volatile);
      const answer = early.get(connection, url, headers);
      const list = early.waiting.get(key) ?? [];
      list.push(answer);
      early.waiting.set(key, list);
      early.sent += 1;
    }
    return early;
  }

  /**
   * The answer to the request ccxt is about to send (`method` `url`) when an early read asked the same, taken out;
   * undefined otherwise. It resolves undefined when that read failed: the request is then sent as usual.
   */
  take(method: string, url: string): Promise<EarlyAnswer | undefined> | undefined {
    if (method.toUpperCase() !== 'GET') {
      this.close();
      return undefined;
    }
    if (this.waiting.size === 0) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return undefined;
    }
    const key = requestKey('GET', parsed, this.volatile);
    const list = this.waiting.get(key);
    const answer = list?.shift();
    if (list && list.length === 0) this.waiting.delete(key);
    if (!answer) return undefined;
    return answer.then((a) => {
      if (a && RATE_REFUSALS.has(a.status)) {
        this.refused = true;
        this.close();
      }
      return a;
    });
  }

  /** Drops every answer not taken and ends the reads still travelling. */
  close(): void {
    this.closed = true;
    this.dropAt();
    this.waiting.clear();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** One GET on its own connection (closed after the answer); undefined on any failure or after timeoutMs. */
  private get(
    connection: Promise<Socket | undefined>,
    url: URL,
    headers: Record<string, string>,
  ): Promise<EarlyAnswer | undefined> {
    const answer = connection.then(
      (socket) =>
        new Promise<EarlyAnswer | undefined>((resolve) => {
          // not open in time, or opened after close(): its answer would go to nobody
          if (!socket || this.closed) {
            socket?.destroy();
            resolve(undefined);
            return;
          }
          this.sockets.add(socket);
          socket.ref();
          let done = false;
          const finish = (result: EarlyAnswer | undefined): void => {
            if (done) return;
            done = true;
            cancel();
            this.sockets.delete(socket);
            if (!result) socket.destroy();
            resolve(result);
          };
          const cancel = this.opts.clock.timer(this.opts.timeoutMs, () => finish(undefined), { unref: true });
          socket.once('close', () => finish(undefined));
          const request = http.request({
            method: 'GET',
            host: url.hostname,
            port: url.port,
            path: `${url.pathname}${url.search}`,
            headers: { ...headers, host: url.host },
            createConnection: () => socket,
          });
          request.on('error', () => finish(undefined));
          request.on('response', (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('error', () => finish(undefined));
            res.on('end', () => {
              const status = res.statusCode ?? 0;
              const encoding = res.headers['content-encoding'];
              // none is asked for, and ccxt follows no redirect: either one is left to ccxt's own request
              const usable = (status < 300 || status >= 400) && (!encoding || encoding === 'identity');
              finish(usable ? { status, headers: res.headers, body: Buffer.concat(chunks) } : undefined);
            });
          });
          request.end();
        }),
      () => undefined,
    );
    return answer;
  }
}

/** GET /path and the query's parameters but the volatile ones, sorted: the same read whenever it is signed. */
export function requestKey(method: string, url: URL, volatile: ReadonlySet<string>): string {
  const params = [...url.searchParams]
    .filter(([name]) => !volatile.has(name))
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&');
  return `${method.toUpperCase()} ${url.origin}${url.pathname}?${params}`;
}
