// One inflater per thread: the same zlib handle and output buffer for every day file. gunzipSync
// builds a zlib stream object per call and allocates its output chunk by chunk; measured here on
// the benchmark's day files (~226 KB in, ~650 KB out), inflating 77% of a file took 2.35 ms with
// gunzipSync, 1.78 ms with a 1 MB chunkSize and 1.60 ms on a reused handle and buffer, and every
// allocation avoided is garbage the GC does not have to chase.
import { constants, createGunzip, gunzipSync, type Gunzip } from 'node:zlib';

/**
 * The native handle under Node's zlib streams (`_handle`, with `_writeState` holding avail_out and
 * avail_in after each write). Not public API, but what zlib's own sync path calls, unchanged since
 * Node 10; when it is missing, `Inflater` falls back to `gunzipSync`.
 */
interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
}

interface Native {
  stream: Gunzip;
  handle: ZlibHandle;
  state: Uint32Array;
}

/** Room for a whole day file (~650 KB inflated); it grows for larger ones. */
const INITIAL_OUT = 1024 * 1024;
/** Beyond this the buffer is not kept for the next file: a rare large file should not pin memory. */
const KEEP_OUT = 8 * 1024 * 1024;

export class Inflater {
  #native: Native | undefined;
  #out = Buffer.allocUnsafe(INITIAL_OUT);

  /**
   * Inflates one gzip body given as its chunks in order. With `limit`, only the first `limit`
   * compressed bytes are inflated and the output stops wherever they end (no CRC check: the caller
   * has verified the body's MD5); without it the whole body is inflated and gzip's trailer (CRC and
   * length) is checked. Throws zlib's error on a corrupt or truncated body.
   *
   * The result is a view of a buffer reused by the next call: read it before inflating again.
   */
  inflate(chunks: readonly Uint8Array[], limit = Number.POSITIVE_INFINITY): Buffer {
    if (this.#out.length > KEEP_OUT) this.#out = Buffer.allocUnsafe(INITIAL_OUT);
    const partial = Number.isFinite(limit);
    const native = this.#handle();
    if (!native) return fallback(chunks, limit);
    native.handle.reset();
    let produced = 0;
    let fed = 0;
    const last = lastChunk(chunks, limit);
    for (let i = 0; i <= last; i++) {
      const chunk = chunks[i] as Uint8Array;
      const final = i === last;
      const inLen = final ? Math.min(chunk.byteLength, limit - fed) : chunk.byteLength;
      const flush = !final ? constants.Z_NO_FLUSH : partial ? constants.Z_SYNC_FLUSH : constants.Z_FINISH;
      let inOff = 0;
      let inLeft = inLen;
      for (;;) {
        const room = this.#out.length - produced;
        native.handle.writeSync(flush, chunk, inOff, inLeft, this.#out, produced, room);
        if (native.stream.destroyed) {
          this.#native = undefined;
          throw native.stream.errored ?? new Error('zlib failed');
        }
        const [outLeft = 0, inAfter = 0] = native.state;
        produced += room - outLeft;
        inOff += inLeft - inAfter;
        inLeft = inAfter;
        // A full output buffer may hide more output: grow it and go on with what is left.
        if (outLeft !== 0) break;
        const bigger = Buffer.allocUnsafe(this.#out.length * 2);
        this.#out.copy(bigger, 0, 0, produced);
        this.#out = bigger;
      }
      fed += inLen;
    }
    return this.#out.subarray(0, produced);
  }

  #handle(): Native | undefined {
    this.#native ??= nativeGunzip();
    return this.#native;
  }
}

/** A gunzip handle to call synchronously, or undefined when this Node has none to offer. */
function nativeGunzip(): Native | undefined {
  const stream = createGunzip();
  // Errors surface through `destroyed`/`errored` right after writeSync; the event comes later.
  stream.on('error', () => {});
  const { _handle: handle, _writeState: state } = stream as unknown as { _handle?: Partial<ZlibHandle>; _writeState?: unknown };
  if (typeof handle?.writeSync !== 'function' || typeof handle.reset !== 'function' || !(state instanceof Uint32Array)) return undefined;
  return { stream, handle: handle as ZlibHandle, state };
}

/** Index of the chunk holding the `limit`-th byte (the last chunk without a limit); -1 when empty. */
function lastChunk(chunks: readonly Uint8Array[], limit: number): number {
  let seen = 0;
  for (let i = 0; i < chunks.length; i++) {
    seen += (chunks[i] as Uint8Array).byteLength;
    if (seen >= limit) return i;
  }
  return chunks.length - 1;
}

function fallback(chunks: readonly Uint8Array[], limit: number): Buffer {
  const whole = Buffer.concat(chunks);
  const partial = Number.isFinite(limit);
  return gunzipSync(partial ? whole.subarray(0, limit) : whole, {
    chunkSize: INITIAL_OUT,
    ...(partial ? { finishFlush: constants.Z_SYNC_FLUSH } : {}),
  });
}

/**
 * A gzip body inflated as its chunks arrive, synchronously, on a zlib handle of its own (several
 * streamed downloads interleave on one thread) and one output buffer: no stream, no 'data'
 * events, no hop to libuv's thread pool per chunk. Undefined from `create` when the native handle
 * is missing: the caller then uses a zlib stream.
 */
export class ChunkInflater {
  readonly #native: Native;
  readonly #out = Buffer.allocUnsafe(STREAM_OUT);

  private constructor(native: Native) {
    this.#native = native;
  }

  static create(): ChunkInflater | undefined {
    const native = nativeGunzip();
    return native && new ChunkInflater(native);
  }

  /**
   * Inflates `chunk`, handing each piece of output to `onOutput` (a view of a reused buffer: read
   * or copy it before returning). Throws zlib's error on a corrupt body.
   */
  write(chunk: Uint8Array, onOutput: (out: Buffer) => void): void {
    this.#run(constants.Z_NO_FLUSH, chunk, onOutput);
  }

  /** The body has ended: flushes what is left and throws if the gzip stream is incomplete (CRC, length). */
  end(onOutput: (out: Buffer) => void): void {
    this.#run(constants.Z_FINISH, EMPTY, onOutput);
  }

  /** Frees the handle (also after an early stop). */
  close(): void {
    this.#native.stream.destroy();
  }

  #run(flush: number, chunk: Uint8Array, onOutput: (out: Buffer) => void): void {
    const { handle, state, stream } = this.#native;
    let inOff = 0;
    let inLeft = chunk.byteLength;
    for (;;) {
      handle.writeSync(flush, chunk, inOff, inLeft, this.#out, 0, this.#out.length);
      if (stream.destroyed) throw stream.errored ?? new Error('zlib failed');
      const [outLeft = 0, inAfter = 0] = state;
      const produced = this.#out.length - outLeft;
      if (produced > 0) onOutput(this.#out.subarray(0, produced));
      inOff += inLeft - inAfter;
      inLeft = inAfter;
      // A full output buffer may hide more output; otherwise this input is consumed.
      if (outLeft !== 0) return;
    }
  }
}

/** Output per writeSync of a streamed body: 256 KB, what the zlib stream it replaces used. */
const STREAM_OUT = 256 * 1024;
const EMPTY = new Uint8Array(0);
