import { InvalidOptionError } from './errors.js';

export type AssetClass = 'stock' | 'crypto' | 'forex' | 'index' | 'option';

/** A user's symbol resolved to the flat files that hold it. */
export interface ResolvedSymbol {
  /** What the user typed, upper-cased. */
  symbol: string;
  /** The ticker as written in the flat files (`TSLA`, `X:BTC-USD`, `C:EUR-USD`, `I:SPX`). */
  ticker: string;
  assetClass: AssetClass;
  /** Key prefix of the day aggregates, e.g. `us_stocks_sip/day_aggs_v1`. */
  dataset: string;
}

export const DATASETS: Record<AssetClass, string> = {
  stock: 'us_stocks_sip/day_aggs_v1',
  crypto: 'global_crypto/day_aggs_v1',
  forex: 'global_forex/day_aggs_v1',
  index: 'us_indices/day_aggs_v1',
  option: 'us_options_opra/day_aggs_v1',
};

// A pair whose two sides are both fiat currencies is forex (EUR-USD); any other pair is crypto.
const FIAT = new Set(
  'USD EUR JPY GBP CHF CAD AUD NZD CNH CNY HKD SGD SEK NOK DKK PLN CZK HUF MXN ZAR TRY BRL INR KRW TWD THB ILS RUB'.split(' '),
);

// Letters, digits and the separators real tickers use. Anything else (slashes, quotes,
// semicolons, spaces) is refused before it reaches SQL, a path or a log line.
const STOCK_RE = /^[A-Z0-9][A-Z0-9.]{0,14}$/;
const PAIR_RE = /^([A-Z0-9]{1,12})-([A-Z0-9]{2,6})$/;
const INDEX_RE = /^I:[A-Z0-9.]{1,20}$/;
const OPTION_RE = /^O:[A-Z0-9.]{1,6}\d{6}[CP]\d{8}$/;
const DATASET_RE = /^[a-z0-9_]+\/[a-z0-9_]+$/;

/**
 * Detects the asset class of a symbol: `TSLA` or `BRK.B` a US stock; `BTC-USD` (or `X:BTC-USD`)
 * a crypto pair; `EUR-USD` (or `C:EUR-USD`) a forex pair; `I:SPX` an index; `O:SPY250117C00500000`
 * an option. With `dataset`, the symbol is taken as that dataset's ticker, as typed.
 */
export function resolveSymbol(input: string, dataset?: string): ResolvedSymbol {
  const symbol = input.trim().toUpperCase();
  if (dataset !== undefined) {
    if (/^[A-Z0-9:.-]{1,40}$/.test(symbol)) return { symbol, ticker: symbol, assetClass: classOf(dataset), dataset };
    throw invalid(input);
  }
  if (INDEX_RE.test(symbol)) return { symbol, ticker: symbol, assetClass: 'index', dataset: DATASETS.index };
  if (OPTION_RE.test(symbol)) return { symbol, ticker: symbol, assetClass: 'option', dataset: DATASETS.option };
  const prefix = /^([XC]):/.exec(symbol)?.[1];
  const pair = PAIR_RE.exec(prefix ? symbol.slice(2) : symbol);
  if (pair) {
    const forex = prefix === 'C' || (prefix === undefined && FIAT.has(pair[1] ?? '') && FIAT.has(pair[2] ?? ''));
    const assetClass = forex ? 'forex' : 'crypto';
    return { symbol, ticker: `${forex ? 'C' : 'X'}:${pair[0]}`, assetClass, dataset: DATASETS[assetClass] };
  }
  if (prefix === undefined && STOCK_RE.test(symbol)) return { symbol, ticker: symbol, assetClass: 'stock', dataset: DATASETS.stock };
  throw invalid(input);
}

/** Validates a dataset prefix given with `--dataset` (`<group>/<name>`, nothing else). */
export function isDatasetPrefix(s: string): boolean {
  return DATASET_RE.test(s);
}

function classOf(dataset: string): AssetClass {
  const found = (Object.entries(DATASETS) as Array<[AssetClass, string]>).find(([, d]) => dataset.split('/')[0] === d.split('/')[0]);
  return found?.[0] ?? 'stock';
}

function invalid(input: string): InvalidOptionError {
  return new InvalidOptionError(
    'symbol',
    input,
    `Invalid symbol ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}...` : input)}: expected a ticker like TSLA, BRK.B, BTC-USD, EUR-USD, I:SPX or O:SPY250117C00500000`,
  );
}

/**
 * The tickers of `next` that a walk along `previous` does not find: exactly those not in
 * `previous` when both are in ascending order (a day file's tickers are, and the next day's are
 * nearly the same), more (never fewer) when not. A string comparison or two a ticker, where a
 * Set costs a hash lookup each; what it returns the caller still checks in its Set.
 */
export function notIn(previous: readonly string[], next: readonly string[]): string[] {
  const rest: string[] = [];
  let j = 0;
  for (const t of next) {
    while (j < previous.length && (previous[j] as string) < t) j++;
    // Skipped only when found, so an order broken anywhere can only add to `rest`.
    if (previous[j] !== t) rest.push(t);
  }
  return rest;
}

/**
 * A set of tickers fed day files' sorted ticker lists: each list is walked along the last one
 * given ({@link notIn}) before the Set lookups, a string comparison or two a ticker where a lookup
 * hashes it (a string from a worker thread is hashed afresh: ~12% of the main thread in a profiled
 * `--all` run). The last list is always all in the set, so the walk never skips a ticker that is
 * not. The SQLite store's bar_symbols memory, PostgreSQL's per pool, and a run's ticker count use it.
 *
 * A {@link draft} is a set layered on this one for a transaction: it sees this set's tickers, keeps
 * its own additions apart (the rows the transaction lists), and adds them here on {@link commit}.
 */
export class TickerSet {
  readonly #own: Set<string>;
  #base: TickerSet | undefined;
  /** The last list given to addList, all in the set; [] after a delete. */
  #last: readonly string[] = [];
  /** A draft's addList moved #last: its commit hands it to the base. */
  #walked = false;

  constructor(tickers: Iterable<string> = []) {
    this.#own = new Set(tickers);
  }

  /** How many tickers were added here (a draft: not counting its base's). */
  get size(): number {
    return this.#own.size;
  }

  /** The tickers added here and not in the base (a set with no base: all of them). */
  get added(): ReadonlySet<string> {
    return this.#own;
  }

  has(ticker: string): boolean {
    return this.#own.has(ticker) || this.#base?.has(ticker) === true;
  }

  /**
   * Adds `tickers`, in any order (a run of one ticker is looked up once), without walking; returns
   * those that were not in the set, each once, in order.
   */
  add(tickers: Iterable<string>): string[] {
    const fresh: string[] = [];
    let last: string | undefined;
    for (const t of tickers) {
      // A minute file's rows repeat their ticker hundreds of times in a row: one lookup a run.
      if (t === last) continue;
      last = t;
      if (this.has(t)) continue;
      this.#own.add(t);
      fresh.push(t);
    }
    return fresh;
  }

  /**
   * Adds a day file's tickers (ascending, as the files are; any order is still correct, only
   * slower), walked along the list given last; returns those that were not in the set. The list is
   * kept, not copied: the caller must not change it.
   */
  addList(tickers: readonly string[]): string[] {
    const fresh = this.add(notIn(this.#last, tickers));
    this.#last = tickers;
    this.#walked = true;
    return fresh;
  }

  /** Takes `ticker` out (a set with no base only); the next list is looked up whole. */
  delete(ticker: string): void {
    this.#own.delete(ticker);
    this.#last = [];
  }

  /** A set layered on this one, whose additions come here only on {@link commit}. */
  draft(): TickerSet {
    const draft = new TickerSet();
    draft.#base = this;
    draft.#last = this.#last;
    return draft;
  }

  /** A draft's additions (and its last list) into its base: after the transaction that listed them committed. */
  commit(): void {
    const base = this.#base;
    if (base === undefined) return;
    for (const t of this.#own) base.#own.add(t);
    if (this.#walked) base.#last = this.#last;
  }
}
