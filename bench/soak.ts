/**
 * The full-size soak (issue 4): 10,000 presses over a real socat pty pair, 5 % of the bytes
 * corrupted in each direction, the pair torn down and recreated every 1,000 presses, committed
 * through the real supervisor + host link + counter store. Same harness and timer scaling as
 * tests/drivers/soak-pty.test.ts (see there for why). Prints PASS/FAIL; exit code 1 on FAIL.
 * Run: node --import tsx bench/soak.ts [presses]   (HAOCHA_SOAK_PRESSES also works)
 */

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSoak, SOAK_TIMING, soakViolations, unplugInterval } from '../tests/helpers/soak.ts';

const presses = Number(process.argv[2] ?? process.env.HAOCHA_SOAK_PRESSES ?? 10_000);
const unplugEvery = unplugInterval(presses);
const root = mkdtempSync(join(tmpdir(), 'haocha-soak-bench-'));
mkdirSync(join(root, 'soak'));
let lastReport = 0;
try {
  console.log(`soak: ${presses} presses, 5 % byte corruption both ways, unplug every ${unplugEvery}`);
  const r = await runSoak({
    dir: join(root, 'soak'),
    presses,
    unplugEvery,
    seed: 20261127,
    ...SOAK_TIMING,
    onProgress: (done) => {
      if (done - lastReport >= 1000) {
        lastReport = done;
        console.log(`  ${done} presses answered`);
      }
    },
  });
  const statuses: Record<string, number> = {};
  for (const g of r.generated) statuses[String(g.status)] = (statuses[String(g.status)] ?? 0) + 1;
  const violations = soakViolations(r);
  const rc = r.reconnectMs.map(Math.round);
  console.log(
    `duration:            ${(r.durationMs / 1000).toFixed(1)} s (${(r.durationMs / presses).toFixed(1)} ms/press)`,
  );
  console.log(`ACK statuses at pad: ${JSON.stringify(statuses)}`);
  console.log(`ratings committed:   ${r.ratings.length} (not ratings: ${r.notRatings})`);
  console.log(`bytes corrupted:     ${r.corruptedBytes}; pad retransmits ${r.padRetransmits}`);
  console.log(`host counters:       ${JSON.stringify(r.host)}`);
  console.log(`unplugs:             ${r.unplugs}; reconnect ms ${rc.join(', ')} (max ${Math.max(...rc)})`);
  const ok =
    violations.length === 0 &&
    statuses['0'] === presses &&
    r.ratings.length === presses &&
    r.reconnectMs.length === r.unplugs &&
    r.reconnectMs.every((ms) => ms < 1000);
  for (const v of violations.slice(0, 20)) console.log(`  violation: ${v}`);
  console.log(ok ? 'PASS: every ACKed press committed once, none invented, reconnect < 1 s' : 'FAIL');
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(root, { recursive: true, force: true });
}
process.exit();
