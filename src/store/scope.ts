// Scopes of an `--all` job: the one "symbol" under which its ingested days and coverage are kept
// (every ticker of the dataset's files), and which tickers of a day its re-ingest replaces.

/** The scope of every ticker of a dataset: `*` cannot start a ticker (symbols.ts refuses it). */
export function allScope(dataset: string): string {
  return `*${dataset}`;
}

export function isAllScope(symbol: string): boolean {
  return symbol.startsWith('*');
}

/**
 * Which stored tickers belong to a dataset's files, as the provider names them: crypto `X:`,
 * forex `C:`, indices `I:`, options `O:`; stocks (and any other dataset) have no such prefix.
 * Bars are keyed by ticker, not dataset: an `--all` re-ingest of a stock day must not delete the
 * crypto bars of the same day and interval.
 */
export function tickerPrefix(dataset: string): string | undefined {
  const group = dataset.split('/')[0] ?? '';
  return PREFIXES[group];
}

const PREFIXES: Record<string, string> = { global_crypto: 'X:', global_forex: 'C:', us_indices: 'I:', us_options_opra: 'O:' };

/**
 * True for a stock ticker (`TSLA`, `BRK.B`): no asset-class prefix (`X:`, `C:`, `I:`, `O:`) and not
 * a scope. The whole market's corporate actions (Store.replaceAllActions) stand for these only.
 */
export function isStockTicker(ticker: string): boolean {
  return !/^[A-Z]:/.test(ticker) && !isAllScope(ticker);
}
