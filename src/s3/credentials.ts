// Temporary credentials from the AWS default chain (a session token that expires) stay fresh in
// every thread. The thread that resolved them owns their provider (the main thread: client.ts);
// the download threads get only the credentials, in each task. Fresh ones travel on one
// BroadcastChannel of the process:
// - a thread whose credentials are due (some minutes before they expire, as the SDK's memoize
//   does) asks for fresh ones and goes on signing with the old ones meanwhile;
// - a thread whose request was answered ExpiredToken asks, and waits for them before retrying;
// - the owner refreshes once however many threads ask, and publishes the new set to all of them.
// Sets are numbered (`version`), so a thread asks only for a set newer than the one refused.
import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import type { Credentials } from '../types.js';
import { serverNow } from './clock.js';

/** How credentials that expire are renewed: plain data, it travels with the credentials in each task. */
export interface Renewal {
  /** The owner's id on the channel. */
  source: string;
  /** 1 for the first set of a source, then one more per refresh. */
  version: number;
  /** When the session token expires, in ms since the epoch. */
  expiresAt: number;
  /** When to ask for fresh ones. */
  refreshAt: number;
}

/** Credentials as the signers take them; `renewal` only for temporary credentials from the default chain. */
export interface S3Credentials extends Credentials {
  renewal?: Renewal | undefined;
}

/** What the default chain gives (the SDK's AwsCredentialIdentity, the fields read here). */
export interface ChainCredentials extends Credentials {
  expiration?: Date | undefined;
}

/** A provider that can be told to skip its cache (the SDK's memoized chain: `{ forceRefresh: true }`). */
export type RefreshingProvider = (options?: { forceRefresh?: boolean }) => Promise<ChainCredentials>;

type Message =
  /** Asked by a thread that holds `version`: newer ones, now if `expired`, else when due. */
  | { type: 'want'; source: string; version: number; expired: boolean }
  | { type: 'fresh'; source: string; credentials: S3Credentials }
  /** The refresh of `version` failed: whoever waits for a newer set stops waiting. */
  | { type: 'failed'; source: string; version: number };

const CHANNEL = 'preload-market-data/credentials';
/** The SDK's memoize refreshes 5 minutes before expiry; shorter-lived sets at half their life. */
const REFRESH_BEFORE_MS = 5 * 60_000;
/** How long a thread waits for fresh credentials after an ExpiredToken (a chain may call STS or SSO). */
const WAIT_MS = 30_000;
/** A thread that asked for due credentials asks again after this long with no answer. */
const ASK_AGAIN_MS = 1_000;
/** After the chain failed, askers are told so for this long rather than the chain asked again at once. */
const FAILED_HOLD_MS = 5_000;

let channel: BroadcastChannel | undefined;
/** The sources this thread owns. */
const owned = new Map<string, Owner>();
/** The newest set heard of, by source (the other threads). */
const latest = new Map<string, S3Credentials>();
/** Threads waiting for a set newer than `version`, by source. */
const waiting = new Map<string, Set<{ version: number; settle: (c: S3Credentials | undefined) => void }>>();
/** When this thread last asked for due credentials, by source. */
const asked = new Map<string, number>();

function open(): BroadcastChannel {
  if (channel === undefined) {
    channel = new BroadcastChannel(CHANNEL);
    // Listening must not keep a process (or a thread) alive once its work is done.
    channel.unref();
    channel.onmessage = (event: unknown) => onMessage((event as { data: Message }).data);
  }
  return channel;
}

function post(message: Message): void {
  open().postMessage(message);
}

function onMessage(m: Message): void {
  if (m.type === 'want') {
    owned.get(m.source)?.want(m.version, m.expired);
    return;
  }
  const version = m.type === 'fresh' ? (m.credentials.renewal?.version ?? 0) : m.version;
  if (m.type === 'fresh' && version > (latest.get(m.source)?.renewal?.version ?? 0)) latest.set(m.source, m.credentials);
  const waiters = waiting.get(m.source);
  for (const w of waiters ?? []) {
    if (m.type === 'fresh' ? version > w.version : m.version >= w.version) {
      waiters?.delete(w);
      w.settle(m.type === 'fresh' ? m.credentials : undefined);
    }
  }
}

/** When a set obtained now should be refreshed: 5 minutes before it expires, or at half its life if shorter. */
function refreshTime(expiresAt: number, now: number): number {
  return expiresAt - Math.min(REFRESH_BEFORE_MS, Math.max(0, (expiresAt - now) / 2));
}

/** The provider of one source, in the thread that resolved it. */
class Owner {
  readonly #source: string;
  readonly #provider: RefreshingProvider;
  #current: S3Credentials;
  #refreshing: Promise<S3Credentials | undefined> | undefined;
  #failedAt = -Infinity;

  constructor(source: string, provider: RefreshingProvider, first: S3Credentials) {
    this.#source = source;
    this.#provider = provider;
    this.#current = first;
  }

  get current(): S3Credentials {
    return this.#current;
  }

  /** A thread holds `version`: publish a newer set if there is one, else refresh if forced or due. */
  want(version: number, expired: boolean): void {
    if ((this.#current.renewal?.version ?? 0) > version) return post({ type: 'fresh', source: this.#source, credentials: this.#current });
    if (expired || due(this.#current)) this.refresh().catch(() => undefined);
  }

  /** One refresh however many ask; published to every thread. Undefined (and `failed` published) if the chain fails. */
  refresh(): Promise<S3Credentials | undefined> {
    if (this.#refreshing === undefined && Date.now() - this.#failedAt < FAILED_HOLD_MS) {
      post({ type: 'failed', source: this.#source, version: this.#current.renewal?.version ?? 1 });
      return Promise.resolve(undefined);
    }
    this.#refreshing ??= this.#fetch().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #fetch(): Promise<S3Credentials | undefined> {
    const version = this.#current.renewal?.version ?? 1;
    try {
      const next = renewable(await this.#provider({ forceRefresh: true }), this.#source, version + 1);
      this.#current = next;
      post({ type: 'fresh', source: this.#source, credentials: next });
      return next;
    } catch {
      // The chain's error is not passed on: it could name files or accounts, and the caller's
      // line (ExpiredToken, no fresh credentials) says what to do.
      this.#failedAt = Date.now();
      post({ type: 'failed', source: this.#source, version });
      return undefined;
    }
  }
}

function renewable(c: ChainCredentials, source: string, version: number): S3Credentials {
  const now = serverNow().getTime();
  const expiresAt = c.expiration?.getTime();
  return {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
    ...(expiresAt === undefined ? {} : { renewal: { source, version, expiresAt, refreshAt: refreshTime(expiresAt, now) } }),
  };
}

function due(c: S3Credentials): boolean {
  return c.renewal !== undefined && serverNow().getTime() >= c.renewal.refreshAt;
}

/**
 * Takes what the default chain gave: credentials without an expiration as they are; temporary
 * ones become the first set of a source this thread owns, refreshed from `provider` for every thread.
 */
export function ownCredentials(provider: RefreshingProvider, first: ChainCredentials): S3Credentials {
  if (first.expiration === undefined) return renewable(first, '', 0);
  const source = randomUUID();
  const credentials = renewable(first, source, 1);
  owned.set(source, new Owner(source, provider, credentials));
  open();
  return credentials;
}

/** Forgets a source (the run that resolved it has ended): its provider and credentials are dropped. */
export function releaseCredentials(c: S3Credentials): void {
  const source = c.renewal?.source;
  if (source === undefined) return;
  owned.delete(source);
  latest.delete(source);
  if (owned.size === 0 && latest.size === 0) {
    channel?.close();
    channel = undefined;
  }
}

/**
 * The credentials to sign with now: the newest set this thread knows of `c`'s source (`c` itself
 * for credentials that do not expire). When they are due, fresh ones are asked for, and these are
 * used meanwhile: they are still valid for a few minutes.
 */
export function currentCredentials(c: S3Credentials): S3Credentials {
  const source = c.renewal?.source;
  if (source === undefined) return c;
  const owner = owned.get(source);
  if (owner) {
    if (due(owner.current)) owner.refresh().catch(() => undefined);
    return owner.current;
  }
  const heard = latest.get(source);
  const known = heard !== undefined && (heard.renewal?.version ?? 0) > (c.renewal?.version ?? 0) ? heard : c;
  const now = Date.now();
  if (due(known) && now - (asked.get(source) ?? 0) >= ASK_AGAIN_MS) {
    asked.set(source, now);
    post({ type: 'want', source, version: known.renewal?.version ?? 0, expired: false });
  }
  return known;
}

/**
 * After an ExpiredToken for a request signed with set `version` of `c`'s source: a newer set,
 * from the owner (refreshed if need be), or undefined when there is none to be had (credentials
 * that do not renew, a chain that failed, no answer within 30 s, or `signal` aborted).
 */
export async function renewedCredentials(c: S3Credentials, version: number, signal?: AbortSignal): Promise<S3Credentials | undefined> {
  const source = c.renewal?.source;
  if (source === undefined) return undefined;
  const owner = owned.get(source);
  if (owner) {
    if ((owner.current.renewal?.version ?? 0) > version) return owner.current;
    return owner.refresh();
  }
  const heard = latest.get(source);
  if (heard !== undefined && (heard.renewal?.version ?? 0) > version) return heard;
  return new Promise((resolve) => {
    const waiters = waiting.get(source) ?? new Set();
    waiting.set(source, waiters);
    const waiter = {
      version,
      settle: (fresh: S3Credentials | undefined): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(fresh);
      },
    };
    const onAbort = (): void => {
      waiters.delete(waiter);
      waiter.settle(undefined);
    };
    const timer = setTimeout(onAbort, WAIT_MS);
    signal?.addEventListener('abort', onAbort, { once: true });
    waiters.add(waiter);
    post({ type: 'want', source, version, expired: true });
  });
}
