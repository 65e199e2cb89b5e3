/**
 * A hub in its own process for the benchmarks (on 2 cores, a hub sharing the counter's event loop
 * would measure neither): prints one JSON line `{ "url": … }` once listening, closes on SIGTERM.
 *
 *   node --import tsx bench/lib/hub-child.ts DATA_DIR [DB_URL] [--discard-ratings]
 *
 * --discard-ratings: uploads are answered `stored` and thrown away (discard-ratings.ts), to
 * measure the hub apart from its store's writes.
 */
import { DEFAULT_RATE_LIMITS } from '../../hub/rate-limit.ts';
import { startHub } from '../../hub/server.ts';
import { DiscardRatingsStore } from './discard-ratings.ts';

const args = process.argv.slice(2);
const discard = args.includes('--discard-ratings');
const [dataDir, db] = args.filter((a) => a !== '--discard-ratings');
if (!dataDir) {
  console.error('usage: hub-child.ts DATA_DIR [DB_URL] [--discard-ratings]');
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
  ...(discard ? { wrapStore: (store) => new DiscardRatingsStore(store) } : {}),
});
console.log(JSON.stringify({ url: hub.url }));
process.on('SIGTERM', () => {
  void hub.close().then(() => process.exit(0));
});
