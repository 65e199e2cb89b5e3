/**
 * Replays the recorded pad sessions in fixtures/pads/ (made by generate-sessions.ts) and checks
 * the decoded events against the .expected.json beside each, in any chunking.
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../drivers/evp1/decoder.ts';
import { decodeFrame, type Message } from '../../drivers/evp1/frames.ts';
import { KeylineDecoder } from '../../drivers/keyline/codec.ts';
import { StuckKeyDetector } from '../../drivers/stuck-key.ts';
import { splitAt } from './evp1/arbitraries.ts';
import { hexBlock } from './hex-fixture.ts';

const FIXTURES = fileURLToPath(new URL('../../fixtures/pads/', import.meta.url));
const expected = <T>(name: string): T =>
  JSON.parse(readFileSync(`${FIXTURES}${name}.expected.json`, 'utf8')) as T;

type SessionExpect = { events: (Message & { seq: number })[]; badCrc: number; stuckPressIds?: number[] };

function replay(bytes: Uint8Array, cuts: number[]) {
  const decoder = new FrameDecoder();
  const events: (Message & { seq: number })[] = [];
  for (const chunk of splitAt(bytes, cuts)) {
    for (const frame of decoder.push(chunk, 0)) {
      const d = decodeFrame(frame);
      if (!d.ok) throw new Error(`fixture frame does not decode: ${d.detail}`);
      events.push({ seq: frame.seq, ...d.message });
    }
  }
  return { events, decoder };
}

const SESSIONS = ['session-clean', 'session-noisy', 'session-power-cycle', 'session-stuck-key'];

describe('recorded pad sessions', () => {
  for (const name of SESSIONS) {
    it(`${name}: the expected events, in any chunking`, () => {
      const bytes = hexBlock(`${name}.hex`, name);
      const want = expected<SessionExpect>(name);
      const whole = replay(bytes, []);
      expect(whole.events).toEqual(want.events);
      expect(whole.decoder.counters.badCrc).toBe(want.badCrc);
      fc.assert(
        fc.property(fc.array(fc.nat(), { maxLength: 30 }), (cuts) => {
          expect(replay(bytes, cuts).events).toEqual(want.events);
        }),
        { numRuns: 50 },
      );
    });
  }

  it('session-power-cycle: two boots, press 1 of each; the half-sent press 2 of boot A is not invented', () => {
    const { events } = replay(hexBlock('session-power-cycle.hex', 'session-power-cycle'), []);
    const keys = events.flatMap((e) => (e.type === 'KEY' ? [e.pressId] : []));
    const boots = events.flatMap((e) => (e.type === 'HELLO' ? [e.bootId] : []));
    expect(keys).toEqual([1, 1]);
    expect(new Set(boots).size).toBe(2);
  });

  it('session-stuck-key: the presses the stuck-key rule suppresses, timed by the pad uptime', () => {
    const want = expected<SessionExpect>('session-stuck-key');
    const { events } = replay(hexBlock('session-stuck-key.hex', 'session-stuck-key'), []);
    const d = new StuckKeyDetector();
    const stuck: number[] = [];
    let t = 0;
    for (const e of events) {
      if (e.type === 'KEY') {
        t = e.uptimeMs;
        if (d.press(e.key, t).stuck) stuck.push(e.pressId);
      } else if (e.type === 'FAULT' && e.code === 1) {
        // escalates the repeat alarm (key 3) to a fault alarm (every key)
        expect(d.fault(t, e.detail)).toMatchObject({ source: 'fault', key: null });
      }
    }
    expect(stuck).toEqual(want.stuckPressIds);
  });

  it('keyline-pad: the keys, the junk lines, the unfinished last line held', () => {
    const bytes = hexBlock('keyline-pad.hex', 'keyline-pad');
    const want = expected<{ keys: number[]; junkLines: number; buffered: number }>('keyline-pad');
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 30 }), (cuts) => {
        const d = new KeylineDecoder();
        const keys = splitAt(bytes, cuts).flatMap((c) => d.push(c));
        expect(keys).toEqual(want.keys);
        expect(d.counters.junkLines).toBe(want.junkLines);
        expect(d.buffered).toBe(want.buffered);
      }),
      { numRuns: 50 },
    );
  });
});
