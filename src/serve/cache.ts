// Recent answers in memory: the serialized JSON per request (its normalized URL), bounded in
// bytes, least recently used out first, emptied whenever the store changes.
//
// Why not lru-cache: it is not a dependency here, and what is needed is small: a Map keeps its
// insertion order, so deleting and setting an entry again on each hit makes its first key the
// least recently used one; the byte accounting is a sum kept beside it.

/** One cached answer, its request_id cut out: `head` + the request's id + `tail` is the body (written as three parts: server.ts). */
export interface CachedAnswer {
  head: Buffer;
  tail: Buffer;
}

/** An LRU of answers bounded by the sum of their bytes. */
export class AnswerCache {
  readonly #map = new Map<string, CachedAnswer>();
  readonly #maxBytes: number;
  #bytes = 0;
  /** Bumped by every clear: an answer computed across one is not stored. */
  #generation = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#map.size;
  }

  get generation(): number {
    return this.#generation;
  }

  get(key: string): CachedAnswer | undefined {
    const hit = this.#map.get(key);
    if (hit === undefined) return undefined;
    // Most recently used last.
    this.#map.delete(key);
    this.#map.set(key, hit);
    return hit;
  }

  /**
   * Stores an answer computed while the cache was at `generation`; one computed across a clear
   * (the store changed meanwhile) or larger than a quarter of the cache is not kept.
   */
  set(key: string, answer: CachedAnswer, generation: number): void {
    if (generation !== this.#generation) return;
    const size = sizeOf(key, answer);
    if (size > this.#maxBytes / 4) return;
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#map.delete(key);
      this.#bytes -= sizeOf(key, old);
    }
    this.#map.set(key, answer);
    this.#bytes += size;
    for (const [k, v] of this.#map) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#map.delete(k);
      this.#bytes -= sizeOf(k, v);
    }
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
    this.#generation += 1;
  }
}

/** What an entry costs: its bytes and its key's (two bytes a UTF-16 unit), plus the Map's entry. */
function sizeOf(key: string, a: CachedAnswer): number {
  return a.head.length + a.tail.length + key.length * 2 + 64;
}

/**
 * The answer's bytes split around its request_id, so that each hit sends its own id: the body is
 * serialized once with `requestId` in it (a random 32-character hex id, which no data contains).
 * Undefined when the id is not in it.
 */
export function splitAnswer(json: string, requestId: string): CachedAnswer | undefined {
  const at = json.indexOf(`"request_id":"${requestId}"`);
  if (at < 0) return undefined;
  const idAt = at + '"request_id":"'.length;
  return { head: Buffer.from(json.slice(0, idAt)), tail: Buffer.from(json.slice(idAt + requestId.length)) };
}
