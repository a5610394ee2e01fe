import { expect } from 'chai';
import { OperationalError } from '../../../src/shared/errors';
import {
  nextPageCursor,
  readWholeList,
  timeWindows,
  type PagedRow,
} from '../../../src/trading/exchange/paged-list';
import type { ListPaging } from '../../../src/trading/exchange/profiles/exchange-profile';

const row = (info: Record<string, unknown>): PagedRow & { id: string } => ({
  id: String(info.id ?? info.ordId ?? info.billId),
  info,
});

describe('paged lists: the next page by the cursor each exchange documents', () => {
  it('token (Bybit): the answer names the next page; empty on the last', () => {
    const cursor = { kind: 'token', param: 'cursor', field: 'nextPageCursor' } as const;
    // ccxt puts the cursor on the raw first row, which its sort may have moved anywhere
    expect(nextPageCursor(cursor, [row({ id: 1 }), row({ id: 2, nextPageCursor: 'abc' })], 50)).to.equal(
      'abc',
    );
    expect(nextPageCursor(cursor, [row({ id: 1, nextPageCursor: '' })], 50)).to.equal(undefined);
    expect(nextPageCursor(cursor, [], 50)).to.equal(undefined);
  });

  it('older-than (OKX after=): the oldest id of a full page, by value; a short page is the last', () => {
    const cursor = { kind: 'older-than', param: 'after', field: 'ordId' } as const;
    const page = [row({ ordId: '1752588852000000010' }), row({ ordId: '1752588852000000009' })];
    expect(nextPageCursor(cursor, page, 2)).to.equal('1752588852000000009');
    expect(nextPageCursor(cursor, page, 3)).to.equal(undefined);
  });

  it('from-id (Binance fromId=): past the newest id of a full page; a short page is the last', () => {
    const cursor = { kind: 'from-id', param: 'fromId', field: 'id', first: '0' } as const;
    expect(nextPageCursor(cursor, [row({ id: 9 }), row({ id: 10 })], 2)).to.equal('11');
    expect(nextPageCursor(cursor, [row({ id: 9 })], 2)).to.equal(undefined);
  });

  const paging: ListPaging = { perPage: 2, cursor: { kind: 'older-than', param: 'after', field: 'ordId' } };
  /** A list of `n` rows served newest first, two a page, by `after`. */
  const served = (n: number) => {
    const asked: Array<Record<string, string>> = [];
    const ids = Array.from({ length: n }, (_, i) => String(100 + n - i));
    return {
      asked,
      fetchPage: async (limit: number, params: Record<string, string>) => {
        asked.push(params);
        const after = params.after ? Number(params.after) : Infinity;
        return ids
          .filter((id) => Number(id) < after)
          .slice(0, limit)
          .map((ordId) => row({ ordId }));
      },
    };
  };

  it('reads to the last page, each page asked with the cursor of the one before', async () => {
    const list = served(5);
    const rows = await readWholeList({ paging, ...list, key: (r) => r.id, maxPages: 10, what: 'test list' });
    expect(rows.map((r) => r.id)).to.deep.equal(['105', '104', '103', '102', '101']);
    expect(list.asked).to.deep.equal([{}, { after: '104' }, { after: '102' }]);
  });

  it('never returns a cut list: more pages than the cap fail, unless the caller takes a recent part', async () => {
    const read = {
      paging,
      ...served(7),
      key: (r: { id: string }) => r.id,
      maxPages: 2,
      what: 'trades of order 1',
    };
    let error: unknown;
    await readWholeList(read).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(OperationalError);
    expect((error as Error).message).to.contain('trades of order 1: more than 2 pages of 2');
    let capped = -1;
    const recent = await readWholeList({ ...read, onCap: (n) => (capped = n) });
    expect(recent).to.have.length(4);
    expect(capped).to.equal(4);
  });

  it('fails instead of looping when the exchange answers the same page again', async () => {
    const same = async (): Promise<Array<PagedRow & { id: string }>> => [
      row({ ordId: '2' }),
      row({ ordId: '1' }),
    ];
    let error: unknown;
    await readWholeList({
      paging,
      fetchPage: same,
      key: (r) => r.id,
      maxPages: 10,
      what: 'open orders',
    }).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(OperationalError);
    expect((error as Error).message).to.contain('repeated a page');
  });

  it('time windows (Bybit, 7 days at most): consecutive, none wider than the span, the last ending at `to`', () => {
    const w = { maxSpanMs: 7, startParam: 'startTime', endParam: 'endTime' };
    expect(timeWindows(w, 0, 20)).to.deep.equal([
      { startTime: '0', endTime: '7' },
      { startTime: '8', endTime: '15' },
      { startTime: '16', endTime: '20' },
    ]);
    expect(timeWindows(w, 5, 5)).to.deep.equal([{ startTime: '5', endTime: '5' }]);
  });

  it('a windowed list is read window after window, each to its last page, with the window on every page', async () => {
    const paging: ListPaging = {
      perPage: 1,
      cursor: { kind: 'token', param: 'cursor', field: 'nextPageCursor' },
      window: { maxSpanMs: 10, startParam: 'startTime', endParam: 'endTime' },
    };
    const asked: Array<Record<string, string>> = [];
    const rows = await readWholeList({
      paging,
      fetchPage: async (_limit, params) => {
        asked.push(params);
        const start = params.startTime;
        return params.cursor
          ? [row({ id: `${start}b` })]
          : [row({ id: `${start}a`, nextPageCursor: 'next' })];
      },
      key: (r) => r.id,
      maxPages: 10,
      what: 'trades',
      span: { from: 0, to: 15 },
    });
    expect(rows.map((r) => r.id)).to.deep.equal(['0a', '0b', '11a', '11b']);
    expect(asked).to.deep.equal([
      { startTime: '0', endTime: '10' },
      { startTime: '0', endTime: '10', cursor: 'next' },
      { startTime: '11', endTime: '15' },
      { startTime: '11', endTime: '15', cursor: 'next' },
    ]);
  });
});
