import pg from 'pg';
import { StoreUnavailableError } from '../types.ts';

const INT8_OID = 20;

/**
 * int8 (bigint, COUNT(*)) comes back as a number: ids, seqs and times stay far below 2^53, and the
 * stores' shapes (shared with SQLite) hold numbers. Per pool, not pg.types globally.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export function makePool(url: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    types,
    max: 10,
    // An unreachable database must turn into a 503 soon, not hang the request.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'haocha-hub',
  });
  // An idle client losing its server emits 'error' on the pool; unhandled it would end the process.
  pool.on('error', () => undefined);
  // So does a checked-out client whose server goes away between queries; its next query fails
  // instead (and is mapped to a 503).
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Node socket errors that mean "cannot reach the database". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOENT', // a unix socket path that is gone
]);

/**
 * Whether an error means the database cannot serve right now (a retry later may succeed): network
 * errors, SQLSTATE class 08 (connection), 53 (resources: disk full, too many connections), 57P
 * (shutdown, cannot connect now), 40 (serialization/deadlock, after our own retries), and pg's
 * own messages for a lost connection, a connect timeout or an ended pool.
 */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true;
    if (/^(08|53|57P|40)/.test(code)) return true;
  }
  if (error instanceof AggregateError) return error.errors.some(isUnavailable);
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Cannot use a pool after calling end|Client has encountered a connection error|Client was closed/i.test(
    error.message,
  );
}

export function unavailable(error: unknown): unknown {
  if (isUnavailable(error)) {
    const what = (error as { code?: string }).code ?? (error as Error).message;
    return new StoreUnavailableError(`hub store unavailable: ${what}`, { cause: error });
  }
  return error;
}

/** Runs fn, turning "cannot serve now" errors into StoreUnavailableError (HTTP 503). */
export async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw unavailable(error);
  }
}

/**
 * fn inside BEGIN … COMMIT on one pooled connection. fn returning `{ rollback: true, value }` rolls
 * back instead (a rejected batch changes nothing). A connection that failed is discarded, not reused.
 */
export async function transaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<{ value: T; rollback?: boolean }>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const { value, rollback } = await fn(client);
    await client.query(rollback ? 'ROLLBACK' : 'COMMIT');
    return value;
  } catch (error) {
    if (isUnavailable(error)) broken = error as Error;
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release(broken);
  }
}
