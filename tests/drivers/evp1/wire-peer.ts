/**
 * A hand-driven EVP/1 peer for link tests: it sits on one end of a memory pair, decodes what the
 * link under test writes, and sends whatever frames the test scripts (including broken ones).
 */

import { FrameDecoder } from '../../../drivers/evp1/decoder.ts';
import { decodeFrame, encodeFrame, frameTypeName, type Message } from '../../../drivers/evp1/frames.ts';
import { createMemoryPair, type MemoryTransport } from '../../../drivers/transports/memory.ts';

export interface SeenFrame {
  seq: number;
  type: string;
  msg: Message | null;
  raw: Uint8Array;
}

export class WirePeer {
  readonly seen: SeenFrame[] = [];
  private readonly decoder = new FrameDecoder();

  constructor(readonly end: MemoryTransport) {
    end.on('data', (bytes) => {
      for (const f of this.decoder.push(bytes, 0)) {
        const d = decodeFrame(f);
        this.seen.push({
          seq: f.seq,
          type: frameTypeName(f.type) ?? `0x${f.type.toString(16)}`,
          msg: d.ok ? d.message : null,
          raw: f.raw,
        });
      }
    });
  }

  send(seq: number, msg: Message): Promise<void> {
    return this.end.write(encodeFrame(seq, msg));
  }

  sendRaw(bytes: Uint8Array): Promise<void> {
    return this.end.write(bytes);
  }

  ofType<T extends Message['type']>(type: T): (SeenFrame & { msg: Extract<Message, { type: T }> })[] {
    return this.seen.filter((f) => f.type === type) as (SeenFrame & { msg: Extract<Message, { type: T }> })[];
  }

  last(): SeenFrame | undefined {
    return this.seen.at(-1);
  }

  clear(): void {
    this.seen.length = 0;
  }
}

/** A memory pair whose pad end is a WirePeer (already open). */
export async function wirePair(): Promise<{ host: MemoryTransport; peer: WirePeer }> {
  const [host, pad] = createMemoryPair();
  await pad.open();
  return { host, peer: new WirePeer(pad) };
}

export const HELLO: Extract<Message, { type: 'HELLO' }> = {
  type: 'HELLO',
  proto: 1,
  bootId: 0x1234abcd,
  model: 'TEST-PAD',
  firmware: '0.9',
  serial: 'T-001',
  caps: 1,
};

/** Lets queued microtasks (memory transport deliveries, promise chains) run. */
export async function settle(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
