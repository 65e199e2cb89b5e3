import { PadMode, PromptCode } from '../../drivers/evp1/frames.ts';
import type { HostLink } from '../../drivers/evp1/host-link.ts';
import type { StuckKeyAlarm } from '../../drivers/stuck-key.ts';
import { PadSupervisor } from '../../drivers/supervisor.ts';
import { SerialTransport } from '../../drivers/transports/serial.ts';
import { isTcpUrl, TcpTransport } from '../../drivers/transports/tcp.ts';
import type { Transport } from '../../drivers/transports/types.ts';
import type { PadView, SessionView } from '../../src-shared/index.ts';
import type { Counter } from './counter.ts';

/** The supervisor's alarm as the contract shows it; its clock is wall time (ms). */
export function alarmView(alarm: StuckKeyAlarm | null): PadView['alarm'] {
  if (!alarm) return null;
  const since = new Date(alarm.sinceMs).toISOString();
  if (alarm.source === 'repeat' && alarm.key !== null) return { kind: 'stuck_key', key: alarm.key, since };
  return alarm.key === null ? { kind: 'fault', since } : { kind: 'fault', key: alarm.key, since };
}

export interface PadAttachment {
  close(): Promise<void>;
  readonly link: HostLink | null;
  readonly supervisor: PadSupervisor;
}

/**
 * Connects the counter to one EVP/1 pad (a serial path, or `tcp://host:port`) through a PadSupervisor (drivers/supervisor.ts), which
 * reopens the port with backoff (100 ms → 5 s) whenever it cannot be opened or the link goes
 * down (unplug, 3 unanswered PINGs), forever, until close(). Presses go to the counter, which
 * commits them before the link ACKs; presses of a stuck key are recorded as not a rating
 * (reason `stuck_key`, status 1). Session changes go to the pad (ARM while a rating is open,
 * DISARM otherwise, the thank-you prompt after a rating).
 */
export function attachPad(
  counter: Counter,
  path: string,
  makeTransport: () => Transport = () =>
    isTcpUrl(path) ? TcpTransport.fromUrl(path) : new SerialTransport({ path }),
): PadAttachment {
  let closed = false;
  const supervisor = new PadSupervisor({
    makeTransport,
    onKey: async (press) => counter.handlePadPress(press),
    onSuppressedKey: async (press, reason) => {
      try {
        // Dedup by (boot_id, press_id) still holds: a press already rated keeps its status.
        return counter.store.commitPress(press, () => ({ rate: false, reason })).outcome;
      } catch (e) {
        process.emitWarning(`cannot store pad press: ${(e as Error).message}`);
        return 2;
      }
    },
  });

  const publish = (state: PadView['link']) => {
    const counters = supervisor.counters;
    counter.setPad({
      link: state,
      path,
      model: supervisor.device?.model ?? null,
      boot_id: supervisor.bootId,
      frames: counters.frames,
      bad_crc: counters.badCrc,
      resyncs: counters.resyncs,
      dropped_bytes: counters.droppedBytes,
      serial: supervisor.device?.serial ?? null,
      retransmits: counters.retransmits,
      reconnects: counters.reconnects,
      alarm: alarmView(supervisor.alarm),
    });
  };
  // Counters change with every frame; tell the UI and status at most once a second.
  let countersTimer: NodeJS.Timeout | null = null;
  const publishCountersSoon = () => {
    if (countersTimer || closed) return;
    countersTimer = setTimeout(() => {
      countersTimer = null;
      if (!closed && supervisor.state !== 'stopped') publish(supervisor.state);
    }, 1000);
    countersTimer.unref();
  };

  const mirrorSession = (view: SessionView) => {
    const l = supervisor.link;
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

  supervisor.on('state', (state) => {
    if (state !== 'stopped') publish(state);
  });
  supervisor.on('up', (l) => {
    const staff = counter.session.staff();
    l.showStaff({
      staffNo: staff.staff_no,
      name: staff.name,
      window: counter.opts.config.window_name,
    }).catch(() => {});
    mirrorSession(counter.session.view());
  });
  supervisor.on('power-cycled', ({ previousBootId, bootId }) => {
    process.emitWarning(`pad on ${path} power-cycled (boot ${previousBootId} → ${bootId})`);
  });
  supervisor.on('alarm', (alarm) => {
    process.emitWarning(`pad on ${path}: stuck key (${alarm.detail}); its presses are not rated`);
  });
  supervisor.on('frame', publishCountersSoon);
  // Alarms are what the staff screen and `haocha status` must show at once, not a second later.
  const publishNow = () => {
    if (!closed && supervisor.state !== 'stopped') publish(supervisor.state);
  };
  supervisor.on('alarm', publishNow);
  supervisor.on('alarm-cleared', publishNow);

  publish('connecting');
  supervisor.start();
  return {
    supervisor,
    get link() {
      return supervisor.link;
    },
    async close() {
      closed = true;
      counter.off('session', mirrorSession);
      if (countersTimer) clearTimeout(countersTimer);
      await supervisor.stop();
      publish('none');
    },
  };
}
