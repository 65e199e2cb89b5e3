/**
 * A simulated KEYLINE pad (`haocha pad-sim --keyline`): writes `K<n>\r\n` per press, hears
 * nothing, knows nothing about the host. Pure apart from its transport.
 */

import type { Key } from '../evp1/frames.ts';
import { encodeKeyLine } from '../keyline/codec.ts';
import type { Transport } from '../transports/types.ts';

export class KeylinePadSimulator {
  private presses = 0;

  constructor(private readonly transport: Transport) {}

  async start(): Promise<void> {
    await this.transport.open();
  }

  async stop(): Promise<void> {
    await this.transport.close();
  }

  /** Writes the key's line; there is no answer, so the result has no status. */
  async press(key: Key): Promise<{ pressId: number; status: null }> {
    await this.transport.write(encodeKeyLine(key));
    this.presses++;
    return { pressId: this.presses, status: null };
  }
}
