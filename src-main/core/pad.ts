import { PadMode, PromptCode } from '../../drivers/evp1/frames.ts';
import { HostLink, type LinkState } from '../../drivers/evp1/host-link.ts';
import { SerialTransport } from '../../drivers/transports/serial.ts';
import type { Transport } from '../../drivers/transports/types.ts';
import type { PadView, SessionView } from '../../src-shared/index.ts';
import type { Counter } from './counter.ts';

export interface PadAttachment {
  close(): Promise<void>;
  readonly link: HostLink | null;
}

const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

/**
 * Connects the counter to one EVP/1 pad and keeps it connected: reopens the port with backoff
 * (100 ms → 5 s) whenever it cannot be opened or the link goes down, forever, until close().
 * Presses go to the counter, which commits them before the link ACKs; session changes go to
 * the pad (ARM while a rating is open, DISARM otherwise, the thank-you prompt after a rating).
 */
export function attachPad(
  counter: Counter,
  path: string,
  makeTransport: () => Transport = () => new SerialTransport({ path }),
): PadAttachment {
  let link: HostLink | null = null;
  let closed = false;
  let retryMs = MIN_RETRY_MS;
  let timer: NodeJS.Timeout | null = null;
  let lastBootId: number | null = null;

  const publish = (state: PadView['link']) => {
    const counters = link?.counters;
    counter.setPad({
      link: state,
      path,
      model: link?.device?.model ?? null,
      boot_id: link?.device?.bootId ?? lastBootId,
      frames: counters?.frames ?? 0,
      bad_crc: counters?.badCrc ?? 0,
      resyncs: counters?.resyncs ?? 0,
      dropped_bytes: counters?.droppedBytes ?? 0,
    });
  };
  // Counters change with every frame; tell the UI and status at most once a second.
  let countersTimer: NodeJS.Timeout | null = null;
  const publishCountersSoon = () => {
    if (countersTimer || closed) return;
    countersTimer = setTimeout(() => {
      countersTimer = null;
      if (link && !closed) publish(link.state);
    }, 1000);
    countersTimer.unref();
  };

  const mirrorSession = (view: SessionView) => {
    const l = link;
    if (l?.state !== 'up') return; // nothing to mirror to until the pad is up
    const send = (p: Promise<void>) => p.catch(() => {}); // a failed send shows up as link state, not here
    if (view.state === 'rating_open') {
      const secs = view.expires_at
        ? Math.min(255, Math.ceil((Date.parse(view.expires_at) - Date.now()) / 1000))
        : 0;
      send(l.setMode(PadMode.SERVING));
      send(l.arm(Math.max(0, secs), view.case_ref ?? ''));
      send(l.prompt(PromptCode.PLEASE_RATE));
    } else if (view.state === 'thanks') {
      send(l.prompt(PromptCode.THANK_YOU));
    } else {
      send(l.disarm());
      send(l.setMode(PadMode.IDLE));
    }
  };
  counter.on('session', mirrorSession);

  const retry = () => {
    if (closed || timer) return;
    const wait = retryMs;
    retryMs = Math.min(MAX_RETRY_MS, retryMs * 2);
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, wait);
  };

  const connect = async () => {
    if (closed) return;
    const l = new HostLink({
      transport: makeTransport(),
      lastBootId,
      onKey: async (press) => counter.handlePadPress(press),
    });
    link = l;
    l.on('state', (state: LinkState) => {
      if (link !== l) return;
      publish(state);
      if (state === 'up') {
        retryMs = MIN_RETRY_MS;
        lastBootId = l.device?.bootId ?? lastBootId;
        const staff = counter.session.staff();
        l.showStaff({
          staffNo: staff.staff_no,
          name: staff.name,
          window: counter.opts.config.window_name,
        }).catch(() => {});
        mirrorSession(counter.session.view());
      } else if (state === 'down') {
        void l.close().finally(retry);
      }
    });
    l.on('power-cycled', ({ previousBootId, bootId }) => {
      process.emitWarning(`pad on ${path} power-cycled (boot ${previousBootId} → ${bootId})`);
    });
    l.on('error', () => {}); // surfaced through state and counters
    l.on('frame', () => {
      if (link === l) publishCountersSoon();
    });
    try {
      publish('connecting');
      await l.open();
    } catch {
      publish('down');
      retry();
    }
  };

  void connect();
  return {
    get link() {
      return link;
    },
    async close() {
      closed = true;
      counter.off('session', mirrorSession);
      if (timer) clearTimeout(timer);
      if (countersTimer) clearTimeout(countersTimer);
      await link?.close();
      publish('none');
    },
  };
}
