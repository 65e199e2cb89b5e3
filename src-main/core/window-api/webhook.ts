import { createHmac } from 'node:crypto';
import {
  type CaseResultWebhook,
  type SessionView,
  WINDOW_API_SIGNATURE_HEADER,
} from '../../../src-shared/index.ts';
import type { Counter } from '../counter.ts';
import { isApiCase, ratingOfCase } from './cases.ts';

export interface WebhookOptions {
  url: string;
  /** Delays before each retry; the number of entries is the number of retries. */
  retryDelaysMs?: number[];
  /** Per-attempt time limit. */
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

const DEFAULT_RETRIES = [1000, 5000, 30_000, 120_000, 300_000];

/**
 * Tells the business system when a case it opened gets its result (rated or not_rated), by POST
 * to the configured URL, signed with HMAC-SHA256 over the body keyed by the terminal's token.
 * Retried with backoff; failures are logged. It runs after the rating is committed and never
 * blocks or fails a rating. Deliveries still pending when the counter stops are not kept (the
 * business system can always ask GET case/:no/rating).
 */
export function attachCaseWebhook(
  counter: Counter,
  token: string,
  opts: WebhookOptions,
  log: (msg: string) => void,
): { close(): void; idle(): Promise<void> } {
  const delays = opts.retryDelaysMs ?? DEFAULT_RETRIES;
  const doFetch = opts.fetchImpl ?? fetch;
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  const deliver = (payload: CaseResultWebhook, attempt: number) => {
    if (closed) return;
    const body = JSON.stringify(payload);
    const p = (async () => {
      let failure: string;
      try {
        const res = await doFetch(opts.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [WINDOW_API_SIGNATURE_HEADER]: `sha256=${createHmac('sha256', token).update(body).digest('hex')}`,
          },
          body,
          signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
        });
        await res.body?.cancel();
        if (res.ok) return;
        failure = `HTTP ${res.status}`;
      } catch (e) {
        failure = (e as Error).message;
      }
      const wait = delays[attempt];
      if (wait === undefined || closed) {
        log(
          `webhook for case ${payload.case_no} failed (${failure}); giving up after ${attempt + 1} attempts`,
        );
        return;
      }
      log(`webhook for case ${payload.case_no} failed (${failure}); retry ${attempt + 1} in ${wait} ms`);
      const t = setTimeout(() => {
        timers.delete(t);
        deliver(payload, attempt + 1);
      }, wait);
      t.unref();
      timers.add(t);
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  let previous = counter.session.view();
  const onSession = (view: SessionView) => {
    const before = previous;
    previous = view;
    if (before.state !== 'rating_open' || before.case_ref === null) return;
    if (view.state === 'rating_open' && view.case_ref === before.case_ref) return;
    const caseNo = before.case_ref;
    try {
      if (!isApiCase(counter.store.db, caseNo)) return;
      const rating = ratingOfCase(counter.store.db, caseNo);
      deliver(
        {
          device_id: counter.store.deviceId,
          window_id: counter.opts.config.window_id,
          case_no: caseNo,
          status: rating ? 'rated' : 'not_rated',
          receipt: rating?.receipt ?? null,
          rated_at: rating?.rated_at ?? null,
        },
        0,
      );
    } catch (e) {
      log(`webhook for case ${caseNo} not sent: ${(e as Error).message}`);
    }
  };
  counter.on('session', onSession);

  return {
    close() {
      closed = true;
      counter.off('session', onSession);
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
    /** Resolves when no attempt is running (tests). */
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
