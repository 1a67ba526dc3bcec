// The offset between this machine's clock and the S3 server's, applied to every request this
// process signs. SigV4 refuses a request whose time is more than 15 minutes off the server's
// (403 RequestTimeTooSkewed); like the AWS SDK, the signer then uses local time + offset, the
// offset being the server's time (its `<ServerTime>`, else its `Date` header) minus ours when the
// answer came. One cell of shared memory, handed to the download threads when the pool starts,
// so a correction made by any thread (the listing's or a download's) holds for all of them.

let buffer = new SharedArrayBuffer(8);
let cell = new BigInt64Array(buffer);

/** The offset cell, for a pool to pass to its threads. */
export function clockBuffer(): SharedArrayBuffer {
  return buffer;
}

/** In a download thread: sign with the main thread's offset, and correct it for everyone. */
export function shareClock(shared: SharedArrayBuffer): void {
  buffer = shared;
  cell = new BigInt64Array(shared);
}

/** The offset now applied, in ms (server minus local). */
export function clockOffset(): number {
  return Number(Atomics.load(cell, 0));
}

/** Sets the offset: a clock known to be off by `ms` (tests use it to play a machine whose clock is wrong). */
export function setClockOffset(ms: number): void {
  Atomics.store(cell, 0, BigInt(Math.round(ms)));
}

/** The time to sign with: local time plus the offset. */
export function serverNow(): Date {
  return new Date(Date.now() + clockOffset());
}

/**
 * After a RequestTimeTooSkewed answer: takes the server's time as the SDK does
 * (getUpdatedSystemClockOffset), the offset becoming its time minus ours. False when the answer
 * carried no time that parses: the offset cannot be corrected, and a retry would fail the same way.
 */
export function correctClock(serverTime: string | undefined): boolean {
  const server = serverTime === undefined ? Number.NaN : Date.parse(serverTime);
  if (Number.isNaN(server)) return false;
  setClockOffset(server - Date.now());
  return true;
}
