import { EventEmitter } from 'node:events';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  CONFIG_PATH,
  type ConfigBundle,
  configBundleSchema,
  resolveWindow,
} from '../../src-shared/config-bundle.ts';
import { verifyBundle } from '../../src-shared/config-signing.ts';
import type { EnrollmentState } from '../../src-shared/enrollment.ts';
import { type CounterConfig, counterConfigSchema } from './config.ts';
import type { RequestSigner } from './enrollment.ts';

/** The last applied bundle, exactly as the hub sent it (signature included), verified again at start. */
export const BUNDLE_FILE = 'config-bundle.json';

/** What `haocha status` and the diagnostics show about the configuration. */
export interface ConfigSyncView {
  /** The version in force (recorded with every rating). */
  version: string;
  /** Where it came from: the embedded defaults or a local file, or the hub's bundle. */
  source: 'local' | 'bundle';
  seq: number | null;
  /** A received bundle waiting for the open rating window to close. */
  pending: string | null;
  last_check_at: string | null;
  /** The last refused bundle or failed pull, until a later one succeeds. */
  last_error: { at: string; reason: string } | null;
  /** The last bundle refused (signature, schema, scope, rollback), until one is accepted: an alarm, unlike a hub out of reach. */
  refused: { at: string; reason: string } | null;
}

export type PullResult =
  | { kind: 'applied'; version: string }
  | { kind: 'not_modified' }
  | { kind: 'same_version' }
  | { kind: 'refused'; reason: string }
  | { kind: 'failed'; reason: string /** The hub's HTTP status, when it answered. */; status?: number };

export interface ConfigSyncOptions {
  dataDir: string;
  hubUrl: string;
  /** The enrolled device's signer, or null (unenrolled: unsigned requests). */
  signer: RequestSigner | null;
  enrollment: EnrollmentState | null;
  /** The local config (embedded defaults or --config): the base a bundle is merged into. */
  base: CounterConfig;
  fetchImpl?: typeof fetch;
  now?: () => Date;
}

/** Thrown for a bundle that must not be applied: the reason goes to status and a warning. */
class Refused extends Error {}

/**
 * Writes the whole file or leaves the old one: temp file, fsync, rename, fsync of the directory
 * (so the rename itself survives a power cut). Hand-written: a dozen lines, and the packaged
 * write-file-atomic does not fsync the directory.
 */
export function writeFileDurably(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  if (process.platform !== 'win32') {
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}

/** The counter config a bundle gives this window: the window's resolved settings over the local base. */
export function configFromBundle(base: CounterConfig, bundle: ConfigBundle): CounterConfig {
  const { hall_id, window_id } = bundle.scope;
  const w = hall_id && window_id ? resolveWindow(bundle.content, hall_id, window_id) : null;
  if (!w) throw new Refused(`bundle ${bundle.version} has no window ${hall_id}/${window_id}`);
  const { key_levels, ...rest } = w;
  const parsed = counterConfigSchema.safeParse({
    ...base,
    ...rest,
    ...(key_levels ? { key_levels } : {}),
    config_version: bundle.version,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Refused(`bundle ${bundle.version}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data;
}

/**
 * The hub → counter config path: pulls the bundle (on start, on a heartbeat hint, every
 * `config_sync.interval_s`), verifies the hub's signature with the key learnt at enrollment,
 * validates it, saves it durably and hands it to the Counter, which swaps it in between ratings.
 * A refused bundle leaves the config in force untouched and says why.
 */
export class ConfigSync extends EventEmitter<{
  change: [ConfigSyncView];
  bundle: [ConfigBundle, CounterConfig];
}> {
  private readonly path: string;
  private readonly now: () => Date;
  private etag: string | null = null;
  private appliedSeq: number | null = null;
  private state: ConfigSyncView;
  private inFlight: Promise<PullResult> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  /** Aborts a pull still in flight when the counter stops (a closing hub must not wait on it). */
  private readonly abort = new AbortController();

  constructor(private readonly opts: ConfigSyncOptions) {
    super();
    this.path = join(opts.dataDir, BUNDLE_FILE);
    this.now = opts.now ?? (() => new Date());
    this.state = {
      version: opts.base.config_version,
      source: 'local',
      seq: null,
      pending: null,
      last_check_at: null,
      last_error: null,
      refused: null,
    };
  }

  view(): ConfigSyncView {
    return { ...this.state };
  }

  /** The hall and window this counter must receive: its enrollment's, or the local config's when unenrolled. */
  scope(): { hall_id: string; window_id: string } {
    const e = this.opts.enrollment;
    return e
      ? { hall_id: e.hall_id, window_id: e.window_id }
      : { hall_id: this.opts.base.hall_id, window_id: this.opts.base.window_id };
  }

  /**
   * The last applied bundle from DATA/config-bundle.json, checked again (a file edited by hand or
   * signed by another hub is refused, and the local config stays). A stray temp file from a write
   * cut short is ignored and removed: the rename never happened, so the old file is the truth.
   */
  loadSaved(): { bundle: ConfigBundle; config: CounterConfig } | null {
    rmSync(`${this.path}.tmp`, { force: true });
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      this.fail(`cannot read ${this.path}: ${(e as Error).message}`);
      return null;
    }
    try {
      const { bundle, config } = this.check(JSON.parse(text), null);
      this.appliedSeq = bundle.seq;
      this.setState({ version: bundle.version, source: 'bundle', seq: bundle.seq });
      return { bundle, config };
    } catch (e) {
      this.fail(`saved bundle ${this.path} refused: ${(e as Error).message}`, true);
      return null;
    }
  }

  /** Pulls now; concurrent calls share one request, and a call during a pull makes one more after it. */
  pull(): Promise<PullResult> {
    if (this.abort.signal.aborted) return Promise.resolve({ kind: 'failed', reason: 'stopped' });
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    // pullOnce answers every failure it knows as a result; anything else is one too, never a
    // rejection (pull() is called from timers and hints that do not wait for it).
    this.inFlight = this.pullOnce()
      .catch((e: unknown) => this.failed(`config pull failed: ${(e as Error).message}`))
      .finally(() => {
        this.inFlight = null;
        if (this.again) {
          this.again = false;
          void this.pull();
        }
      });
    return this.inFlight;
  }

  /**
   * A heartbeat reply said the hub's version (or asked to resend config): pull unless we run it
   * already, or the hub already said it has nothing for this window in that version (404: a
   * window not in the bundle would otherwise be pulled, and refused, on every heartbeat). A new
   * version, a resend_config command (no version) and the periodic pull still ask.
   */
  onHint(version?: string | null): Promise<PullResult> | null {
    if (version && version === this.state.version && this.state.source === 'bundle') return null;
    if (version && version === this.notForUs) return null;
    const pulled = this.pull();
    if (version)
      void pulled.then((r) => {
        this.notForUs = r.kind === 'failed' && r.status === 404 ? version : null;
      });
    return pulled;
  }

  /** The hub version whose bundle had nothing for this window (404 to a pull it hinted at). */
  private notForUs: string | null = null;

  /** Enrolled while running: bundles are verified with the new hub key and fetched signed from now on. */
  setTrust(signer: RequestSigner | null, enrollment: EnrollmentState | null): void {
    this.opts.signer = signer;
    this.opts.enrollment = enrollment;
    this.etag = null;
  }

  /** The Counter tells us when a received bundle is waiting for the rating window to close, and when it went in. */
  markPending(version: string | null): void {
    this.setState({ pending: version });
  }

  start(): void {
    void this.pull();
    const every = this.opts.base.config_sync.interval_s;
    if (every > 0) {
      this.timer = setInterval(() => void this.pull(), every * 1000);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.abort.abort();
  }

  private async pullOnce(): Promise<PullResult> {
    const scope = this.scope();
    const base = this.opts.hubUrl.replace(/\/+$/, '');
    // An unsigned request names its window; a signed one is known by its device.
    const url = this.opts.signer
      ? `${base}${CONFIG_PATH}`
      : `${base}${CONFIG_PATH}?hall_id=${encodeURIComponent(scope.hall_id)}&window_id=${encodeURIComponent(scope.window_id)}`;
    let res: Response;
    try {
      res = await this.get(url);
      if (res.status === 401 && this.opts.signer) {
        // A skewed clock: learn the hub's time from the answer and sign once more.
        const body = (await res.json().catch(() => ({}))) as { code?: string; server_time?: string };
        if (body.code === 'CLOCK_SKEW' && body.server_time) {
          this.opts.signer.learnServerTime(body.server_time);
          res = await this.get(url);
        } else return this.failed(`hub refused the config request: ${body.code ?? res.status}`);
      }
    } catch (e) {
      if (this.abort.signal.aborted) return { kind: 'failed', reason: 'stopped' };
      return this.failed(`cannot reach the hub for config: ${(e as Error).message}`);
    }
    this.setState({ last_check_at: this.now().toISOString() });
    if (res.status === 304) return { kind: 'not_modified' };
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      // The link dropped in the middle of the answer (a poor regiment link): a failed pull, retried
      // on the next hint or period, never a rejection nobody handles.
      if (this.abort.signal.aborted) return { kind: 'failed', reason: 'stopped' };
      return this.failed(`the hub's answer was cut off: ${(e as Error).message}`);
    }
    if (!res.ok) {
      let reason = `hub answered ${res.status}`;
      try {
        const e = JSON.parse(text) as { code?: string; message?: string };
        reason = `${e.code ?? res.status}: ${e.message ?? ''}`;
      } catch {
        // not JSON: the status says enough
      }
      const reasonText = `config not available: ${reason}`;
      this.fail(reasonText);
      return { kind: 'failed', reason: reasonText, status: res.status };
    }
    let bundle: ConfigBundle;
    let config: CounterConfig;
    try {
      ({ bundle, config } = this.check(JSON.parse(text), this.appliedSeq));
    } catch (e) {
      const reason = `config bundle refused: ${(e as Error).message}`;
      this.fail(reason, true);
      return { kind: 'refused', reason };
    }
    if (bundle.seq === this.appliedSeq) {
      this.etag = res.headers.get('etag');
      this.setState({ last_error: null, refused: null });
      return { kind: 'same_version' };
    }
    try {
      writeFileDurably(this.path, text);
    } catch (e) {
      // Not saved means a restart would go back: do not apply what cannot be kept.
      return this.failed(`cannot save the config bundle: ${(e as Error).message}`);
    }
    this.etag = res.headers.get('etag');
    this.appliedSeq = bundle.seq;
    this.setState({ seq: bundle.seq, last_error: null, refused: null });
    this.emit('bundle', bundle, config);
    return { kind: 'applied', version: bundle.version };
  }

  private async get(url: string): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.etag) headers['if-none-match'] = this.etag;
    const signed = this.opts.signer
      ? await this.opts.signer.headers('GET', url, new Uint8Array(), headers)
      : headers;
    return (this.opts.fetchImpl ?? fetch)(url, {
      headers: signed,
      signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(30_000)]),
    });
  }

  /** Signature first (over the bytes as sent, before defaults), then schema, scope, order, and the merged config. */
  private check(raw: unknown, minSeq: number | null): { bundle: ConfigBundle; config: CounterConfig } {
    const e = this.opts.enrollment;
    if (e) {
      if (!e.hub_public_key)
        throw new Refused(
          'enrolled without the hub key (an older hub): enroll again to receive config bundles',
        );
      const v = verifyBundle(raw, e.hub_public_key);
      if (!v.ok) throw new Refused(v.reason);
    } else if (!this.opts.base.config_sync.allow_unverified) {
      throw new Refused(
        'not enrolled, so the bundle cannot be verified (config_sync.allow_unverified is off)',
      );
    }
    const parsed = configBundleSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Refused(`${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
    }
    const bundle = parsed.data;
    const want = this.scope();
    if (bundle.scope.hall_id !== want.hall_id || bundle.scope.window_id !== want.window_id)
      throw new Refused(
        `bundle is for ${bundle.scope.hall_id}/${bundle.scope.window_id}, this counter is ${want.hall_id}/${want.window_id}`,
      );
    if (minSeq !== null && bundle.seq < minSeq)
      throw new Refused(`bundle ${bundle.version} is older than the one in force (seq ${minSeq})`);
    return { bundle, config: configFromBundle(this.opts.base, bundle) };
  }

  private failed(reason: string): PullResult {
    this.fail(reason);
    return { kind: 'failed', reason };
  }

  private fail(reason: string, refused = false): void {
    process.emitWarning(reason);
    const at = { at: this.now().toISOString(), reason };
    this.setState(refused ? { last_error: at, refused: at } : { last_error: at });
  }

  /** The Counter reports the version it swapped in. */
  applied(version: string, seq: number): void {
    this.setState({ version, seq, source: 'bundle', pending: null });
  }

  private setState(patch: Partial<ConfigSyncView>): void {
    this.state = { ...this.state, ...patch };
    this.emit('change', this.view());
  }
}
