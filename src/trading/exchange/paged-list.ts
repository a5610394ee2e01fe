/**
 * Reads an exchange list whole, page after page, by the cursor its profile documents (profiles/exchange-profile.ts
 * `PageCursor`): the one pagination mechanism of the live adapter. Each page is one ccxt call (ccxt's rate limiter
 * paces it like any other request, at that endpoint's cost).
 *
 * ccxt's own `paginate: true` does not fit: it stops after `paginationCalls` pages (10) without saying so, its
 * cursor mode throws without a `since`, and its OKX mode pages by time (`until` = the oldest row's time − 1 ms),
 * which skips rows that share a millisecond across a page boundary — exactly the fills of one market order that
 * swept many makers at once.
 *
 * A list longer than `maxPages` is never cut silently: a list that must be whole (open orders, an order's trades)
 * fails with an OperationalError (an order's fills, hence its position, would be wrong); a "recent" list (finished
 * orders) returns what it read and says so through `onCap`.
 */
import { OperationalError } from '../../shared/errors';
import type { ListPaging, PageCursor, TimeWindow } from './profiles/exchange-profile';

/** A row as ccxt returns it: the exchange's raw row in `info`. */
export interface PagedRow {
  info?: unknown;
}

/**
 * The cursor value of the page after `rows` (a page asked with `perPage` rows at most), or undefined when `rows`
 * is the last page. Pure.
 */
export function nextPageCursor(
  cursor: PageCursor,
  rows: readonly PagedRow[],
  perPage: number,
): string | undefined {
  if (rows.length === 0) return undefined;
  if (cursor.kind === 'token') {
    for (const row of rows) {
      const value = fieldOf(row, cursor.field);
      if (value !== undefined && value !== '') return value;
    }
    return undefined;
  }
  if (rows.length < perPage) return undefined;
  const ids = rows.map((row) => fieldOf(row, cursor.field)).filter((id): id is string => id !== undefined);
  if (ids.length === 0) return undefined;
  if (cursor.kind === 'older-than') return ids.reduce((a, b) => (compareIds(a, b) <= 0 ? a : b));
  const newest = ids.reduce((a, b) => (compareIds(a, b) >= 0 ? a : b));
  return /^\d+$/.test(newest) ? String(BigInt(newest) + 1n) : newest;
}

export interface WholeListRead<T extends PagedRow> {
  paging: ListPaging;
  /** One page: ccxt's call with `limit` and the cursor's params (besides the caller's own filter). */
  fetchPage: (limit: number, params: Record<string, string>) => Promise<T[]>;
  /** A row's identity: a row seen on two pages (the list moved while it was read) is kept once, the later copy. */
  key: (row: T) => string;
  maxPages: number;
  /** What is read, for errors and logs ("trades of order 123 on BTC/USDT"). */
  what: string;
  /** Called when `maxPages` pages were read and more remain; absent: the read fails (never a cut list). */
  onCap?: (read: number) => void;
  /**
   * Rows between these times, for a list the exchange answers only within a time window (Bybit: 7 days, the past 7
   * by default): read window after window (`timeWindows`), each to its last page. Absent: the exchange's default.
   */
  span?: { from: number; to: number };
}

/**
 * The windows of at most `window.maxSpanMs` that cover `from`..`to`, oldest first: the exchange's start and end
 * params of each. Pure.
 */
export function timeWindows(window: TimeWindow, from: number, to: number): Array<Record<string, string>> {
  const windows: Array<Record<string, string>> = [];
  for (let start = from; ; start += window.maxSpanMs + 1) {
    const end = Math.min(start + window.maxSpanMs, to);
    windows.push({ [window.startParam]: String(start), [window.endParam]: String(end) });
    if (end >= to) return windows;
  }
}

/** A list read whole, window after window where the profile documents a window and the caller a span. */
export async function readWholeList<T extends PagedRow>(read: WholeListRead<T>): Promise<T[]> {
  const window = read.paging.window;
  if (!window || !read.span) return readPages(read, {});
  const byKey = new Map<string, T>();
  for (const params of timeWindows(window, read.span.from, read.span.to)) {
    for (const row of await readPages(read, params)) byKey.set(read.key(row), row);
  }
  return [...byKey.values()];
}

async function readPages<T extends PagedRow>(
  read: WholeListRead<T>,
  window: Record<string, string>,
): Promise<T[]> {
  const { paging, maxPages } = read;
  const byKey = new Map<string, T>();
  let params: Record<string, string> = {
    ...window,
    ...(paging.cursor.kind === 'from-id' ? { [paging.cursor.param]: paging.cursor.first } : {}),
  };
  const sent = new Set<string>();
  for (let page = 1; ; page++) {
    const rows = await read.fetchPage(paging.perPage, params);
    for (const row of rows) byKey.set(read.key(row), row);
    const next = nextPageCursor(paging.cursor, rows, paging.perPage);
    if (next === undefined) break;
    if (sent.has(next)) {
      // the exchange answered the same page again: following it would never end
      throw new OperationalError(
        `${read.what}: the exchange repeated a page (cursor ${next}); list not read whole`,
        {
          list: read.what,
          pages: page,
        },
      );
    }
    if (page >= maxPages) {
      if (read.onCap) {
        read.onCap(byKey.size);
        break;
      }
      throw new OperationalError(
        `${read.what}: more than ${maxPages} pages of ${paging.perPage}; not read whole (nothing is taken from a cut list)`,
        { list: read.what, pages: page, perPage: paging.perPage },
      );
    }
    sent.add(next);
    params = { ...window, [paging.cursor.param]: next };
  }
  return [...byKey.values()];
}

function fieldOf(row: PagedRow, field: string): string | undefined {
  const info = row.info;
  if (!info || typeof info !== 'object') return undefined;
  const value = (info as Record<string, unknown>)[field];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** Numeric ids (OKX ordId/billId, Binance trade ids) by value, others as strings. */
function compareIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
