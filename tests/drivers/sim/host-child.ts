/**
 * A counter-like host in its own process, for the SIGKILL test in pty.test.ts:
 * `tsx host-child.ts <hostPath>` prints "UP <boot_id>" once the pad said HELLO and
 * "KEY <boot_id> <press_id> <key>" for every press it commits, then runs until killed.
 */

import { HostLink } from '../../../drivers/evp1/host-link.ts';
import { SerialTransport } from '../../../drivers/transports/serial.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: host-child.ts <hostPath>');
const link = new HostLink({
  transport: new SerialTransport({ path }),
  onKey: async (p) => {
    process.stdout.write(`KEY ${p.bootId} ${p.pressId} ${p.key}\n`);
    return 0;
  },
});
link.on('state', (s) => {
  if (s === 'up') process.stdout.write(`UP ${link.device?.bootId}\n`);
});
await link.open();
setInterval(() => {}, 60_000);
