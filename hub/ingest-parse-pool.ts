import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HUB_HTTP_ERROR_CODES } from './errors.ts';
import { type ParseInput, type ParseResult, parseIngestBody, unpack } from './ingest-parse.ts';
import type { ParseAnswer, ParseRequest } from './ingest-parse-worker.ts';

/**
 * One worker per core but the one the event loop and the store's writes run on (at least one, at
 * most four): on the 2-core hall servers that is one worker beside the main thread.
 */
export function defaultParseWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

interface Slot {
  worker: Worker;
  pending: Map<number, (result: ParseResult) => void>;
}

/**
 * Parses upload bodies (parseIngestBody) in worker threads, so the hub's one event loop spends its
 * time on HTTP and the store, and the zod checks and hashes of one batch run while the previous
 * batch is written. Workers start on the first upload (a hub that only serves pages starts none),
 * and a worker that dies is replaced on the next upload; the bodies it held get a 503 and are sent
 * again by their counters. With 0 workers every body is parsed inline.
 */
export class IngestParsePool {
  private readonly slots: (Slot | null)[];
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number) {
    this.slots = Array.from({ length: Math.max(0, size) }, () => null);
  }

  parse(input: ParseInput): Promise<ParseResult> {
    if (this.slots.length === 0) return Promise.resolve(parseIngestBody(input));
    if (this.closed) return Promise.resolve(unavailable('the hub is closing'));
    const slot = this.leastBusy();
    const id = this.nextId++;
    return new Promise<ParseResult>((resolve) => {
      slot.pending.set(id, resolve);
      const request: ParseRequest = { id, ...input };
      slot.worker.postMessage(request);
    });
  }

  /**
   * Ends every worker now (a parser stuck on a body, a memory leak): uploads they hold get a 503
   * and are sent again by their counters; the next upload starts fresh workers.
   */
  async recycle(): Promise<void> {
    const live = this.slots.filter((s): s is Slot => s !== null);
    await Promise.all(live.map((s) => s.worker.terminate()));
  }

  /**
   * Starts every worker now rather than with the first upload: a hub restarted under a fleet would
   * otherwise hold its first uploads while a worker loads (about half a second on a hall server),
   * and the backlog of that wait takes seconds more to clear.
   */
  warm(): void {
    if (this.closed) return;
    for (let i = 0; i < this.slots.length; i++) if (!this.slots[i]) this.start(i);
  }

  /** Workers running now (they start with the first upload, or with warm()). */
  get running(): number {
    return this.slots.filter((s) => s !== null).length;
  }

  async close(): Promise<void> {
    this.closed = true;
    const live = this.slots.filter((s): s is Slot => s !== null);
    this.slots.fill(null);
    await Promise.all(live.map((s) => s.worker.terminate()));
  }

  private leastBusy(): Slot {
    let best = -1;
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i];
      if (!slot) {
        best = i;
        break;
      }
      const current = best >= 0 ? this.slots[best] : null;
      if (!current || slot.pending.size < current.pending.size) best = i;
    }
    return this.slots[best] ?? this.start(best);
  }

  private start(index: number): Slot {
    // execArgv empty: the entry registers tsx itself, and the parent's flags (inspector, --import)
    // are not a worker's business.
    const worker = new Worker(new URL('./ingest-parse-worker.mjs', import.meta.url), { execArgv: [] });
    // The HTTP server keeps the process alive while it serves; an idle worker must not.
    worker.unref();
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (answer: ParseAnswer) => {
      const resolve = slot.pending.get(answer.id);
      slot.pending.delete(answer.id);
      const { id: _id, ...result } = answer;
      resolve?.('packed' in result ? unpack(result.packed) : result);
    });
    const fail = (why: string) => {
      if (this.slots[index] === slot) this.slots[index] = null;
      for (const resolve of slot.pending.values()) {
        resolve(unavailable(why));
      }
      slot.pending.clear();
    };
    worker.on('error', (error) => fail(`ingest parser failed: ${error.message}`));
    worker.on('exit', (code) => fail(`ingest parser exited (code ${code})`));
    this.slots[index] = slot;
    return slot;
  }
}

/** The body was lost with its worker (or the hub is closing): 503, and the counter sends it again. */
function unavailable(message: string): ParseResult {
  return { ok: false, statusCode: 503, code: HUB_HTTP_ERROR_CODES.parserUnavailable, message };
}
