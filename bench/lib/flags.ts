// What the bench scripts share of their command lines.

/** A flag's value as a positive integer, `fallback` when it is absent. @throws on anything else */
export function positiveInt(flags: Readonly<Record<string, unknown>>, name: string, fallback: number): number {
  const v = flags[name];
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`Expected --${name} to be a positive integer, got ${String(v)}`);
  return n;
}
