/** True for a PostgreSQL connection URL (postgres:// or postgresql://). */
export function isStoreUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s) && URL.canParse(s);
}

/** The URL with its password replaced by `***`, safe to print. */
export function maskUrl(url: string): string {
  if (!URL.canParse(url)) return url.replace(/:\/\/([^:/@]*):[^@]*@/, '://$1:***@');
  const u = new URL(url);
  if (u.password !== '') u.password = '***';
  return u.toString();
}
