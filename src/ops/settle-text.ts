/**
 * The operator's settling of an order in question (trading's `inDoubtOrders` / `settleOrder`), in words — for /settle
 * in Telegram and `byninja settle` alike (pure): the arguments read, the question asked before, the lists and
 * answers shown.
 */
import type { InDoubtOrderView, OrderView, SettleOrderParams } from '../shared/ipc/protocol';
import type { Markup } from './render';

/** The argument synopsis both front ends show. */
export const SETTLE_USAGE =
  '<clientOrderId> none | <clientOrderId> filled <amount> <average price> [fee <cost> <coin>]';

export type SettleArgs = { ok: true; params: SettleOrderParams } | { ok: false; problem: string };

/**
 * `<id> none` or `<id> filled <amount> <average price>` (decimal numbers, a dot for the decimals, no thousands
 * separators: "1,000" could be one thousand or one). No arguments is not for this (it lists the orders).
 */
export function parseSettleArgs(args: readonly string[]): SettleArgs {
  const [clientOrderId, word, amount, price, ...rest] = args;
  if (!clientOrderId || !word) return bad(`expected ${SETTLE_USAGE}`);
  if (clientOrderId.length > 100) return bad('that client order id is too long');
  const outcome = word.toLowerCase();
  if (outcome === 'none') {
    if (amount !== undefined) return bad('"none" takes nothing after it');
    return { ok: true, params: { clientOrderId, outcome: 'not-carried-out' } };
  }
  if (outcome !== 'filled') return bad(`"${word}" is neither "none" nor "filled"`);
  if (amount === undefined || price === undefined)
    return bad('"filled" needs the executed amount and the average price');
  const executed = decimal(amount);
  const averagePrice = decimal(price);
  if (executed === undefined)
    return bad(`the amount "${amount}" is not a decimal number above 0 (e.g. 0.0032)`);
  if (averagePrice === undefined)
    return bad(`the price "${price}" is not a decimal number above 0 (e.g. 50000.5)`);
  const params: SettleOrderParams = { clientOrderId, outcome: 'carried-out', executed, averagePrice };
  if (rest.length === 0) return { ok: true, params };
  const [feeWord, cost, coin, ...extra] = rest;
  if (feeWord!.toLowerCase() !== 'fee') return bad(`unexpected "${feeWord}" after the price`);
  if (cost === undefined || coin === undefined)
    return bad('"fee" needs its cost and its coin (e.g. fee 0.0000032 BTC)');
  if (extra.length > 0) return bad(`unexpected "${extra[0]}" after the fee`);
  const feeCost = cost === '0' ? 0 : decimal(cost);
  if (feeCost === undefined) return bad(`the fee "${cost}" is not a decimal number (e.g. 0.0000032)`);
  if (!/^[A-Za-z0-9]{1,20}$/.test(coin)) return bad(`"${coin}" is not a coin (e.g. BTC)`);
  return { ok: true, params: { ...params, fee: { cost: feeCost, currency: coin.toUpperCase() } } };
}

function decimal(text: string): number | undefined {
  if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

function bad(problem: string): SettleArgs {
  return { ok: false, problem };
}

/** The question asked before settling: what the bot will do, and what it costs if the operator is wrong. */
export function settleQuestion(p: SettleOrderParams, m: Markup): string {
  if (p.outcome === 'not-carried-out') {
    return (
      `Settle order ${m.code(p.clientOrderId)} as ${m.b('not carried out')}? The bot then places orders on its ` +
      `symbol again, its stop-loss included: if the exchange did carry it out, that sells coins that are not the ` +
      `bot's. Check the exchange's order history first.`
    );
  }
  return (
    `Book order ${m.code(p.clientOrderId)} as ${m.b('carried out')}: ${m.esc(String(p.executed))} executed at an ` +
    `average ${m.esc(String(p.averagePrice))}` +
    (p.fee
      ? `, a fee of ${m.esc(`${p.fee.cost} ${p.fee.currency}`)}, as the exchange's order history shows?`
      : `, as the exchange's order history shows? No fee given: the order's last answer's, else estimated at the ` +
        `market's taker rate (on a buy in the coin bought).`)
  );
}

/** The orders in question, with the command that settles each. */
export function formatInDoubtOrders(orders: readonly InDoubtOrderView[], m: Markup, command: string): string {
  if (orders.length === 0) return 'No order is in question: nothing to settle.';
  const lines = [m.b(`Orders in question (${orders.length})`)];
  for (const o of orders) {
    const ended = {
      'never-placed': 'declared never placed',
      'settled-absent': 'settled as gone from the exchange',
      unknown: 'outcome unknown (its create had no answer) since',
      absent: 'no longer shown by the exchange, not settleable from its reads, since',
      'fills-missing': 'finished, its missing fills neither readable nor priced, since',
    }[o.ended];
    lines.push(
      `• ${m.code(o.clientOrderId)} ${m.esc(`${o.symbol} ${o.side} ${o.amount} (${o.purpose}), ${o.filled} filled`)}` +
        ` — ${m.esc(ended)} ${m.esc(new Date(o.endedAt).toISOString().slice(0, 16).replace('T', ' '))} UTC` +
        (o.inDoubtAt !== undefined && (o.ended === 'never-placed' || o.ended === 'settled-absent')
          ? '; the balance moved as if it was carried out'
          : ''),
    );
    if (o.holding) lines.push(`  ${m.esc(`holds ${o.symbol}: ${o.holding}`)}`);
    lines.push(`  ${settleLine(o, m, command)}`);
  }
  lines.push(
    `Look each up in the exchange's open orders and order history, then settle it as shown under it: ` +
      `${m.code('none')} when nothing executed beyond what was booked, ${m.code('filled')} with the whole ` +
      `executed amount and its average price (${m.code('fee <cost> <coin>')} optional) when it executed.`,
  );
  return lines.join('\n');
}

/**
 * The commands trading accepts for one order in question (operator-settle.ts `settleByOperator`): one answered as more
 * filled than its fills booked (`filledOnly`: a finished order whose fills are missing, an absent one whose last
 * answer said more) is refused `none` — only `filled`, with at least what it filled.
 */
function settleLine(o: InDoubtOrderView, m: Markup, command: string): string {
  const filled = m.code(`${command} ${o.clientOrderId} filled <amount> <average price>`);
  if (o.filledOnly || o.ended === 'fills-missing') {
    return `settle: ${filled} ${m.esc(`(the whole executed amount, at least the ${o.filled} it filled)`)}`;
  }
  return `settle: ${m.code(`${command} ${o.clientOrderId} none`)} or ${filled}`;
}

/** What trading did on the operator's word. */
export function formatSettled(
  p: SettleOrderParams,
  result: { order: OrderView; position: number },
  m: Markup,
): string {
  const o = result.order;
  const what =
    p.outcome === 'not-carried-out'
      ? `not carried out${o.filled > 0 ? ` beyond the ${o.filled} booked` : ''}`
      : `${o.filled} executed at an average ${o.averagePrice ?? p.averagePrice} (${o.status})`;
  return (
    `🧾 Order ${m.code(o.clientOrderId)} settled: ${m.esc(what)}. The bot's ${m.esc(o.symbol)} position is now ` +
    `${m.esc(String(result.position))}; the symbol is no longer held by this order.`
  );
}
