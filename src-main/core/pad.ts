import {
  type DiscoverOptions,
  type DiscoveryReport,
  discoverPads,
  formatReport,
} from '../../drivers/discovery/discover.ts';
import { PadMode, PromptCode } from '../../drivers/evp1/frames.ts';
import type { HostLink } from '../../drivers/evp1/host-link.ts';
import { type DeviceProfile, profileById } from '../../drivers/profiles.ts';
import type { StuckKeyAlarm } from '../../drivers/stuck-key.ts';
import { PadSupervisor } from '../../drivers/supervisor.ts';
import { SerialTransport } from '../../drivers/transports/serial.ts';
import { isTcpUrl, TcpTransport } from '../../drivers/transports/tcp.ts';
import type { Transport } from '../../drivers/transports/types.ts';
import { NO_PAD, type PadView, type SessionView } from '../../src-shared/index.ts';
import type { Counter } from './counter.ts';

/**
 * A KEYLINE press's boot_id is a connection id, max(previous + 1, Unix seconds): a counter that
 * reconnected quickly may have run ahead of the clock, and a restart must not reuse one of those
 * ids (its presses would be taken for repeats). EVP/1 boot ids are random u32s; the ones more than
 * a day ahead of the clock are certainly not connection ids, so they are left out.
 */
function lastKeylineConnectionId(counter: Counter): number | null {
  try {
    const row = counter.store.db
      .prepare('SELECT MAX(pad_boot_id) AS id FROM pad_presses WHERE pad_boot_id <= ?')
      .get(Math.floor(Date.now() / 1000) + 86_400) as { id: number | null } | undefined;
    return row?.id ?? null;
  } catch {
    return null; // no store yet, or a schema without the table: ids start from the clock
  }
}

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
  makeTransport?: () => Transport,
  options: { profile?: DeviceProfile | null } = {},
): PadAttachment {
  let closed = false;
  const profile = options.profile ?? null;
  const baudRate = profile?.baudRate;
  const supervisor = new PadSupervisor({
    // The profile names the codec; without one, EVP/1 as before.
    codec: profile?.codec === 'keyline' ? 'keyline' : 'evp1',
    ...(profile?.codec === 'keyline' ? { lastBootId: lastKeylineConnectionId(counter) } : {}),
    makeTransport:
      makeTransport ??
      (() =>
        isTcpUrl(path)
          ? TcpTransport.fromUrl(path)
          : new SerialTransport(baudRate ? { path, baudRate } : { path })),
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
    } else if (view.state === 'paused' || view.state === 'signed_out') {
      // 暂停服务 on the pad too: a paused or unstaffed window takes no ratings.
      send(l.disarm());
      send(l.setMode(PadMode.PAUSED));
      send(l.prompt(PromptCode.PAUSED));
    } else {
      send(l.disarm());
      send(l.setMode(PadMode.IDLE));
    }
  };
  counter.on('session', mirrorSession);

  supervisor.on('state', (state) => {
    if (state !== 'stopped') publish(state);
  });
  // The pad shows who serves: on link up and whenever the signed-in staff changes.
  let shownStaff: string | null | undefined;
  const showStaff = () => {
    const l = supervisor.link;
    const staff = counter.session.staff();
    if (l?.state !== 'up' || (staff?.staff_no ?? null) === shownStaff) return;
    shownStaff = staff?.staff_no ?? null;
    l.showStaff({
      staffNo: staff?.staff_no ?? '',
      name: staff?.name ?? '',
      window: counter.opts.config.window_name,
    }).catch(() => {
      shownStaff = undefined;
    });
  };
  counter.on('session', showStaff);
  supervisor.on('up', () => {
    shownStaff = undefined;
    showStaff();
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
      counter.off('session', showStaff);
      if (countersTimer) clearTimeout(countersTimer);
      await supervisor.stop();
      publish('none');
    },
  };
}

export interface AutoPadOptions {
  /** Wanted pad serial (config `pad.serial`); null: the single pad found. */
  serial: string | null;
  /** Named profile (config `pad.profile`); null: whatever discovery finds. */
  profile: DeviceProfile | null;
  /** Discovery's ports, transports and timeouts (tests pass pty paths here). */
  discovery?: Omit<DiscoverOptions, 'wantedSerial' | 'profile'>;
  /** How long the pad may stay unreachable before discovery runs again, and how often it retries. Default 15 s. */
  retryMs?: number;
  log?: (line: string) => void;
}

export interface AutoPadAttachment {
  /** The current pad, null while none is chosen. */
  readonly pad: PadAttachment | null;
  /** The last discovery report. */
  readonly report: DiscoveryReport | null;
  /** Settles after the first discovery, whether or not it chose a pad. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * `pad.path: auto`: discovery picks the pad (by serial when one is wanted) and attachPad runs on
 * its path. Paths move when a pad is replugged (ttyUSB0 → ttyUSB1, COM3 → COM5), so when the pad
 * stays unreachable for `retryMs` its port is released and discovery runs again; with no pad
 * found, discovery is retried every `retryMs`. The report goes to `log` whenever no pad is chosen.
 */
export function attachPadAuto(counter: Counter, options: AutoPadOptions): AutoPadAttachment {
  const retryMs = options.retryMs ?? 15_000;
  const log = options.log ?? (() => {});
  let closed = false;
  let current: PadAttachment | null = null;
  let currentPath = '';
  let report: DiscoveryReport | null = null;
  let downSince = Date.now();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();

  const searching = () => counter.setPad({ ...NO_PAD, link: 'connecting', path: 'auto' });

  const schedule = () => {
    if (closed) return;
    timer = setTimeout(() => {
      timer = null;
      running = cycle();
    }, retryMs);
    timer.unref();
  };

  const cycle = async (): Promise<void> => {
    if (closed) return;
    if (current) {
      const state = current.supervisor.state;
      if (state === 'up' || Date.now() - downSince < retryMs) {
        schedule();
        return;
      }
      log(
        `pad on ${currentPath} unreachable for ${Math.round((Date.now() - downSince) / 1000)} s: discovering again`,
      );
      const old = current;
      current = null;
      await old.close();
    }
    searching();
    try {
      report = await discoverPads({
        ...options.discovery,
        wantedSerial: options.serial,
        profile: options.profile?.id ?? null,
      });
    } catch (e) {
      log(`pad discovery failed: ${(e as Error).message}`);
      report = null;
    }
    if (closed) return;
    const chosen = report?.chosen ?? null;
    if (report && chosen) {
      log(`pad: ${report.decision}`);
      const profile = options.profile ?? profileById(chosen.profile) ?? null;
      currentPath = chosen.path;
      current = attachPad(counter, chosen.path, undefined, { profile });
      downSince = Date.now();
      current.supervisor.on('state', (state) => {
        if (state === 'up') downSince = Number.POSITIVE_INFINITY;
        else if (downSince === Number.POSITIVE_INFINITY) downSince = Date.now();
      });
    } else if (report) {
      log(formatReport(report).trimEnd());
    }
    schedule();
  };

  running = cycle();
  const ready = running;
  return {
    get pad() {
      return current;
    },
    get report() {
      return report;
    },
    ready,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running.catch(() => {});
      await current?.close();
      current = null;
    },
  };
}
