/**
 * The operator's write-off of a holding the bot can no longer sell (trading's `writeOff`), in words — for /writeoff
 * in Telegram and `byninja writeoff` alike (pure): the argument read, the question asked before, the answer shown.
 */
import type { WriteOffResult } from '../shared/ipc/protocol';
import type { Markup } from './render';

export const WRITE_OFF_USAGE = '<symbol, e.g. BTC/USDT>';

export type WriteOffArgs = { ok: true; symbol: string } | { ok: false; problem: string };

/** One symbol as the bot writes it (`BTC/USDT`; upper case taken as is, lower case raised). */
export function parseWriteOffArgs(args: readonly string[]): WriteOffArgs {
  if (args.length !== 1) return { ok: false, problem: `expected one symbol: ${WRITE_OFF_USAGE}` };
  const symbol = args[0]!.toUpperCase();
  if (!/^[A-Z0-9]+\/[A-Z0-9]+(:[A-Z0-9]+)?$/.test(symbol) || symbol.length > 40)
    return { ok: false, problem: `"${args[0]}" is not a symbol like BTC/USDT` };
  return { ok: true, symbol };
}

/** The question asked before: what a write-off does, and that it is refused for anything the bot can sell. */
export function writeOffQuestion(symbol: string, m: Markup): string {
  return m.esc(
    `Write off the bot's ${symbol} holding? Only a holding the bot can no longer sell (below the exchange's ` +
      `minimum, or delisted) is written off — anything else is refused. It leaves the bot's books as a loss at ` +
      `price 0 and frees its position slot; coins still in the account are yours from then on (the bot never sells them).`,
  );
}

/** What trading did on the operator's word. */
export function formatWrittenOff(r: WriteOffResult, m: Markup): string {
  const pnl = `${r.realizedPnl >= 0 ? '+' : ''}${r.realizedPnl.toFixed(2)}`;
  return (
    `🧾 ${m.esc(r.symbol)}: ${m.esc(String(Number(r.amount.toPrecision(10))))} written off ` +
    `(${m.esc(r.reason === 'delisted' ? 'delisted' : "below the exchange's minimum")}), PnL ${m.esc(pnl)}. ` +
    `The bot no longer holds it (${m.code(r.clientOrderId)}).`
  );
}
