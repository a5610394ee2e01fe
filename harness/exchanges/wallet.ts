/**
 * The spot account of a local exchange double: per asset what is free and what resting orders hold. Amounts are
 * the exchange's own arithmetic (no rounding here): each double formats them as its documentation writes them.
 */
export interface AssetBalance {
  free: number;
  locked: number;
}

/** Past states kept for a lagging account read (the oldest go first beyond it). */
const KEPT_STATES = 10_000;

export class Wallet {
  /** By asset, in the order the assets first appeared (the account answers list them so). */
  readonly balances: Record<string, AssetBalance> = {};
  /** The balances as each change left them, oldest first, with the exchange time of the change. */
  private readonly states: Array<{ at: number; balances: Record<string, AssetBalance> }> = [];
  private readonly initial: Record<string, AssetBalance>;

  /** `now`: the exchange's clock, which dates each change (for `asOf`). */
  constructor(
    initial: Record<string, number>,
    private readonly now: () => number = Date.now,
  ) {
    for (const [asset, amount] of Object.entries(initial)) this.balances[asset] = { free: amount, locked: 0 };
    this.initial = copy(this.balances);
  }

  /**
   * The balances as they stood at `time` (exchange time): what an account read that lags the matching engine
   * answers (each double's `balanceLagMs`).
   */
  asOf(time: number): Record<string, AssetBalance> {
    for (let i = this.states.length - 1; i >= 0; i--) {
      if (this.states[i]!.at <= time) return this.states[i]!.balances;
    }
    return this.initial;
  }

  /** Keeps the state a change left (called after every change). */
  private changed(): void {
    this.states.push({ at: this.now(), balances: copy(this.balances) });
    if (this.states.length > KEPT_STATES) this.states.shift();
  }

  free(asset: string): number {
    return this.balances[asset]?.free ?? 0;
  }

  /** Free plus locked. */
  total(asset: string): number {
    const b = this.balances[asset];
    return b ? b.free + b.locked : 0;
  }

  /** Adds to what is free (a negative amount takes); an asset not held yet is opened at zero. */
  credit(asset: string, amount: number): void {
    this.balances[asset] ??= { free: 0, locked: 0 };
    this.balances[asset].free += amount;
    this.changed();
  }

  /** What a resting order on `symbol` holds: the quote it may spend on a buy, the base it may sell. */
  hold(symbol: string, buy: boolean, qty: number, price: number): void {
    const { asset, amount } = reserved(symbol, buy, qty, price);
    this.balances[asset] ??= { free: 0, locked: 0 };
    this.balances[asset].free -= amount;
    this.balances[asset].locked += amount;
    this.changed();
  }

  /** Gives back what `hold` took for `qty` of a resting order (a fill slice, or the rest on a cancel). */
  release(symbol: string, buy: boolean, qty: number, price: number): void {
    const { asset, amount } = reserved(symbol, buy, qty, price);
    this.balances[asset].locked -= amount;
    this.balances[asset].free += amount;
    this.changed();
  }

  /** One trade on `symbol`: `qty` base against `cost` quote, then the fee taken from `feeAsset`. */
  settle(symbol: string, buy: boolean, qty: number, cost: number, feeAsset: string, fee: number): void {
    const [base, quote] = symbol.split('/');
    this.credit(base, 0);
    this.credit(quote, 0);
    if (buy) {
      this.balances[quote].free -= cost;
      this.balances[base].free += qty;
    } else {
      this.balances[base].free -= qty;
      this.balances[quote].free += cost;
    }
    this.balances[feeAsset].free -= fee;
    this.changed();
  }
}

function copy(balances: Record<string, AssetBalance>): Record<string, AssetBalance> {
  const out: Record<string, AssetBalance> = {};
  for (const [asset, b] of Object.entries(balances)) out[asset] = { ...b };
  return out;
}

function reserved(
  symbol: string,
  buy: boolean,
  qty: number,
  price: number,
): { asset: string; amount: number } {
  const [base, quote] = symbol.split('/');
  return buy ? { asset: quote, amount: qty * price } : { asset: base, amount: qty };
}
