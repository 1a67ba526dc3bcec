// Store URLs: which `--store` values name a PostgreSQL store, and how to print one safely.

/** True when `s` names a PostgreSQL store (`postgres://` or `postgresql://`). */
export function isStoreUrl(s: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(s);
}

/**
 * The URL with its password replaced by `***`, for every message, log line and report.
 * @example maskUrl('postgres://u:secret@db:5432/market') // 'postgres://u:***@db:5432/market'
 */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '***';
    return u.toString();
  } catch {
    // Not parseable as a URL: still hide whatever sits between `user:` and `@`.
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
  }
}

/** Removes the URL's password from any text (a driver's error message may echo its config). */
export function redact(text: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    return text;
  }
  return password === '' ? text : text.split(password).join('***');
}
