/**
 * One contract, three transports: the same suite runs against the counter's real core services
 * reached in-process, over the devhost's WebSocket, and over an IPC pair built the way Electron's
 * main process and preload build it (createCallHandler + forwardEvents, invoke/subscribe).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createCallHandler } from '../../src-main/core/call-handler.ts';
import { defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';
import { forwardEvents } from '../../src-main/core/event-forwarder.ts';
import { startDevhost } from '../../src-main/devhost/devhost.ts';
import { type Client, createClient } from '../../src-renderer/client/client.ts';
import { createIpcTransport } from '../../src-renderer/client/ipc-transport.ts';
import { createMemoryTransport } from '../../src-renderer/client/memory-transport.ts';
import type { Transport } from '../../src-renderer/client/transport.ts';
import { createWsTransport, type WebSocketLike } from '../../src-renderer/client/ws-transport.ts';
import { CALL_NAMES, type SessionView } from '../../src-shared/index.ts';

const offline: typeof fetch = async () => {
  throw new Error('offline');
};

interface Rig {
  counter: Counter;
  transport: Transport;
  close(): Promise<void>;
}

type RigFactory = (counter: Counter) => Promise<Omit<Rig, 'counter'>>;

const rigs: Record<string, RigFactory> = {
  'in-process': async (counter) => {
    const transport = createMemoryTransport(createCallHandler(counter));
    const stop = forwardEvents(counter, (e, p) => transport.emit(e, p));
    return { transport, close: async () => stop() };
  },
  'devhost WebSocket': async (counter) => {
    const host = await startDevhost({ counter, staticDir: '/nonexistent', port: 0 });
    const transport = createWsTransport({
      url: `${host.url.replace(/^http/, 'ws')}/bridge`,
      connect: (u) => new WebSocket(u) as unknown as WebSocketLike,
    });
    return {
      transport,
      close: async () => {
        transport.close();
        await host.close();
      },
    };
  },
  'Electron IPC (main + preload, as wired in src-main/electron)': async (counter) => {
    // main: ipcMain.handle('haocha:invoke') → createCallHandler; forwardEvents → webContents.send.
    const handle = createCallHandler(counter);
    const subscribers = new Map<string, Set<(p: unknown) => void>>();
    const stop = forwardEvents(counter, (event, payload) => {
      // IPC serialises with structured clone, as here.
      for (const cb of subscribers.get(event) ?? []) cb(structuredClone(payload));
    });
    const allowed = new Set<string>(CALL_NAMES);
    // preload: the allowlisted invoke and subscribe (src-main/preload/preload.ts).
    const api = {
      invoke: async (name: string, args: unknown) =>
        allowed.has(name)
          ? structuredClone(await handle(name, structuredClone(args)))
          : { ok: false, error: { code: 'UNKNOWN_CALL', message: `unknown call: ${name}` } },
      subscribe: (event: string, cb: (p: unknown) => void) => {
        const set = subscribers.get(event) ?? new Set();
        subscribers.set(event, set);
        set.add(cb);
        return () => set.delete(cb);
      },
    };
    return { transport: createIpcTransport(api), close: async () => stop() };
  },
};

for (const [name, make] of Object.entries(rigs)) {
  describe(`counter contract over ${name}`, () => {
    let dir: string;
    let rig: Rig;
    let client: Client;

    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'haocha-contract-'));
      const counter = new Counter({
        dataDir: dir,
        hubUrl: 'http://127.0.0.1:9',
        config: defaultCounterConfig(),
        fetchImpl: offline,
      });
      rig = { counter, ...(await make(counter)) };
      client = createClient(rig.transport, { onProtocolProblem: (p) => expect.fail(JSON.stringify(p)) });
    });
    afterEach(async () => {
      client.close();
      await rig.close();
      await rig.counter.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('opens a rating, takes a level, answers with a receipt and never the level', async () => {
      const seen: SessionView[] = [];
      client.on('session', (v) => seen.push(v));
      const opened = await client.call('rating.open', { case_ref: 'XJ-2026-0001' });
      expect(opened).toMatchObject({ ok: true, value: { state: 'rating_open', case_ref: 'XJ-2026-0001' } });
      const submitted = await client.call('rating.submit', { level: 2, reasons: ['202'] });
      expect(submitted.ok).toBe(true);
      if (!submitted.ok) return;
      expect(submitted.value.receipt).toMatch(/^[0-9A-F]{4}-[0-9A-F]{4}$/);
      await expect.poll(() => seen.map((v) => v.state)).toContain('thanks');
      expect(JSON.stringify(seen)).not.toMatch(/"level"/);
      expect(rig.counter.store.queueStats().queue_depth).toBe(1);
    });

    it('refuses a rating with no window open, with a code', async () => {
      const r = await client.call('rating.submit', { level: 5 });
      expect(r).toMatchObject({ ok: false, error: { code: 'NO_RATING_OPEN' } });
      expect(rig.counter.store.queueStats().queue_depth).toBe(0);
    });

    it('the host refuses inputs outside the contract and unknown calls, and stores nothing', async () => {
      // Straight at the transport: the client would have refused these before sending.
      expect(await rig.transport.invoke('rating.submit', { level: 6 })).toMatchObject({
        ok: false,
        error: { code: 'BAD_REQUEST' },
      });
      expect(await rig.transport.invoke('rating.open', { case_ref: 42 })).toMatchObject({
        ok: false,
        error: { code: 'BAD_REQUEST' },
      });
      expect(await rig.transport.invoke('store.dropAll', {})).toMatchObject({
        ok: false,
        error: { code: 'UNKNOWN_CALL' },
      });
      expect(rig.counter.store.queueStats().queue_depth).toBe(0);
    });

    it('status answers with the whole counter status', async () => {
      const r = await client.call('status.get', {});
      expect(r).toMatchObject({
        ok: true,
        value: { device_id: rig.counter.store.deviceId, pad: { link: 'none' }, sync: { queue_depth: 0 } },
      });
    });
  });
}
