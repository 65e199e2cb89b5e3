/**
 * Line faults for the simulator (`haocha pad-sim --corrupt RATE`): a Transport wrapper that
 * corrupts bytes in both directions, each byte with probability `rate`, from a seeded PRNG so a
 * run is reproducible. Pure apart from the wrapped transport.
 */

import type { Transport, TransportEvents } from '../transports/types.ts';

/** Each byte, with probability `rate`, XORed with a non-zero value (so it always changes). */
export function corruptBytes(bytes: Uint8Array, rate: number, random: () => number): Uint8Array {
  if (rate <= 0) return bytes;
  let out: Uint8Array | null = null;
  for (let i = 0; i < bytes.length; i++) {
    if (random() < rate) {
      out ??= bytes.slice();
      out[i] = (out[i] as number) ^ (1 + Math.floor(random() * 255));
    }
  }
  return out ?? bytes;
}

export interface FaultyTransportOptions {
  /** Probability that a byte is corrupted, 0..1. */
  corruptRate: number;
  random: () => number;
}

export class FaultyTransport implements Transport {
  readonly description: string;
  corrupted = 0;

  constructor(
    private readonly inner: Transport,
    private readonly options: FaultyTransportOptions,
  ) {
    if (!(options.corruptRate >= 0 && options.corruptRate <= 1))
      throw new RangeError(`corruptRate must be within 0..1, got ${options.corruptRate}`);
    this.description = `${inner.description} (corrupt ${options.corruptRate})`;
  }

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  open(): Promise<void> {
    return this.inner.open();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.inner.write(this.corrupt(bytes));
  }

  on<K extends keyof TransportEvents>(event: K, listener: TransportEvents[K]): () => void {
    if (event === 'data') {
      const onData = listener as TransportEvents['data'];
      return this.inner.on('data', (bytes) => onData(this.corrupt(bytes)));
    }
    return this.inner.on(event, listener);
  }

  private corrupt(bytes: Uint8Array): Uint8Array {
    const out = corruptBytes(bytes, this.options.corruptRate, this.options.random);
    if (out !== bytes) for (let i = 0; i < out.length; i++) if (out[i] !== bytes[i]) this.corrupted++;
    return out;
  }
}
