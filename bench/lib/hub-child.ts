/**
 * A hub in its own process for the benchmarks (on 2 cores, a hub sharing the counter's event loop
 * would measure neither): prints one JSON line `{ "url": … }` once listening, closes on SIGTERM.
 *
 *   node --import tsx bench/lib/hub-child.ts DATA_DIR [DB_URL]
 */
import { DEFAULT_RATE_LIMITS } from '../../hub/rate-limit.ts';
import { startHub } from '../../hub/server.ts';

const [dataDir, db] = process.argv.slice(2);
if (!dataDir) {
  console.error('usage: hub-child.ts DATA_DIR [DB_URL]');
  process.exit(2);
}
const hub = await startHub({
  dataDir,
  port: 0,
  logger: false,
  // As the CLI's hub: parse workers loaded before the fleet's first upload.
  warmParseWorkers: true,
  // The fleet benchmark enrolls thousands of terminals, and opens their connections, from one
  // address in seconds; the device limits (what the load exercises) stay as shipped.
  rateLimits: {
    ...DEFAULT_RATE_LIMITS,
    enroll: { max: 1_000_000, windowMs: 60_000 },
    admin: { max: 1_000_000, windowMs: 60_000 },
    other: { max: 1_000_000, windowMs: 60_000 },
  },
  ...(db ? { db } : {}),
});
console.log(JSON.stringify({ url: hub.url }));
process.on('SIGTERM', () => {
  void hub.close().then(() => process.exit(0));
});
