/**
 * Kill -9 driver: opens a CounterStore on a real file and commits ratings as fast as it can, as the
 * counter does (rating + audit entry in one transaction), until it is killed. A line goes to
 * stdout only AFTER the commit returned: that line is the moment the pad (ACK) or the business
 * system hears of the rating, so everything printed must survive the kill.
 *
 *   driver DB FIRST_PRESS_ID SEED
 *
 * Presses are (boot 7, FIRST_PRESS_ID, +1, …): the first is the pad resending the press it never
 * got an ACK for, which may already be committed (then it must come back as a repeat).
 * Lines: `READY <last_seq>`, `P <press_id> <outcome> <seq|-> <hash|-> <repeat 0|1>`, `R <seq> <hash>`.
 */
import { writeSync } from 'node:fs';
import { AuditLog } from '../../src-main/core/audit/audit-log.ts';
import { CounterStore, plainGiven, type RatingContext } from '../../src-main/core/store/counter-store.ts';

const [path, firstPress, seedArg] = process.argv.slice(2);
if (!path || !firstPress) {
  process.stderr.write('usage: kill9-driver DB FIRST_PRESS_ID SEED\n');
  process.exit(2);
}

let seed = Number(seedArg ?? 1) >>> 0 || 1;
const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x100000000;
};

function ctx(pad: RatingContext['pad']): RatingContext {
  return {
    channel: 4,
    case_ref: `C-${Math.floor(rnd() * 1e6)}`,
    item_code: 'T-001',
    item_name: '营业执照办理',
    case_status: 'accepted',
    accepted_at: null,
    finished_at: null,
    dept_id: null,
    rater_type: 'person',
    rater: null,
    staff_no: '090317',
    staff_name: '李明',
    window_id: 'W03',
    hall_id: 'DIV9-MAIN',
    config_version: 'cfg-1',
    opened_at: new Date().toISOString(),
    source: pad ? 'pad' : 'screen',
    pad,
    signals: [],
  };
}

const store = new CounterStore(path);
const audit = new AuditLog(store.db);
const out = (line: string) => writeSync(1, `${line}\n`);
out(`READY ${store.queueStats().last_seq}`);

let pressId = Number(firstPress);
for (;;) {
  if (rnd() < 0.7) {
    const id = pressId++;
    const key = 1 + Math.floor(rnd() * 5);
    const rate = rnd() < 0.85;
    const r = store.transact(() => {
      const res = store.commitPress({ bootId: 7, pressId: id, key }, () =>
        rate
          ? {
              rate: true,
              given: plainGiven((6 - key) as 1, 'dict-1'),
              ctx: ctx({ boot_id: 7, press_id: id, key }),
            }
          : { rate: false, reason: 'no_rating_open' },
      );
      if (!res.repeat)
        audit.append('citizen', res.record ? 'rating.committed' : 'press.not_rating', {
          press_id: id,
          seq: res.record?.seq ?? null,
        });
      return res;
    });
    out(`P ${id} ${r.outcome} ${r.record?.seq ?? '-'} ${r.record?.hash ?? '-'} ${r.repeat ? 1 : 0}`);
  } else {
    const level = (1 + Math.floor(rnd() * 5)) as 1;
    const rec = store.transact(() => {
      const r = store.commitRating(plainGiven(level, 'dict-1'), ctx(null));
      audit.append('staff:090317', 'rating.committed', { seq: r.seq });
      return r;
    });
    out(`R ${rec.seq} ${rec.hash}`);
  }
}
