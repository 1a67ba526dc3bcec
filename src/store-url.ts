// Store URLs: which `--store` values name a PostgreSQL store, and how to print one safely.

/** True for a PostgreSQL connection URL (`postgres://` or `postgresql://`). */
export function isStoreUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s) && URL.canParse(s);
}

/**
 * The URL with its password replaced by `***`, safe to print: used in every message and report.
 * @example maskUrl('postgres://u:secret@db:5432/market') // 'postgres://u:***@db:5432/market'
 */
export function maskUrl(url: string): string {
  // Not parseable as a URL: still hide whatever sits between `user:` and `@`.
  if (!URL.canParse(url)) return url.replace(/:\/\/([^:/@]*):[^@]*@/, '://$1:***@');
  const u = new URL(url);
  if (u.password !== '') u.password = '***';
  return u.toString();
}

/** The URL's password as it may appear in text: decoded, and as written in the URL. None if it has none. */
export function urlPasswords(url: string | undefined): string[] {
  if (url === undefined || !URL.canParse(url)) return [];
  const written = new URL(url).password;
  return written === '' ? [] : [...new Set([decodeURIComponent(written), written])];
}

/** Removes the URL's password from any text (a driver's error message may echo its config). */
export function redact(text: string, url: string): string {
  return urlPasswords(url).reduce((acc, password) => acc.split(password).join('***'), text);
}
