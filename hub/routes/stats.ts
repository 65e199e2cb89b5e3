import type { FastifyPluginAsync } from 'fastify';
import {
  HUB_API,
  HUB_ERROR_CODES,
  type StatsReply,
  statsQuerySchema,
  statsReplySchema,
} from '../../src-shared/index.ts';
import { describeZodError, hubError, sendHubError } from '../errors.ts';
import { PAGE_CSP, renderStatsPage } from '../page.ts';
import { buildStatsReply } from '../stats.ts';
import type { HubStore } from '../store/types.ts';
import { daysBetween, shanghaiDay } from '../time.ts';
import type { HubContext } from './context.ts';

export const STATS_PATH = `${HUB_API}/stats`;
/** Keeps a reply bounded (hundreds of windows × days); longer reports go through export. */
export const MAX_STATS_DAYS = 366;

export const statsRoutes: FastifyPluginAsync<HubContext> = async (app, { store, now }) => {
  app.get(STATS_PATH, async (request, reply) => {
    const parsed = statsQuerySchema.safeParse(request.query);
    if (!parsed.success) {
      return sendHubError(
        reply,
        hubError(400, HUB_ERROR_CODES.badRequest, describeZodError(parsed.error, 'query')),
      );
    }
    // `to` defaults to today (Asia/Shanghai), `from` to `to`: no parameters = today.
    const to = parsed.data.to ?? shanghaiDay(now());
    const from = parsed.data.from ?? to;
    const span = daysBetween(from, to);
    if (span < 0 || span >= MAX_STATS_DAYS) {
      const message =
        span < 0
          ? `query.from: ${from} is after to ${to}`
          : `query: at most ${MAX_STATS_DAYS} days per request`;
      return sendHubError(reply, hubError(400, HUB_ERROR_CODES.badRequest, message));
    }
    return statsFor(store, from, to);
  });

  app.get('/', async (_request, reply) => {
    const at = now();
    const today = shanghaiDay(at);
    const stats = await statsFor(store, today, today);
    const renderedAt = at.toLocaleTimeString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', PAGE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store')
      .send(renderStatsPage(stats, renderedAt));
  });
};

async function statsFor(store: HubStore, from: string, to: string): Promise<StatsReply> {
  return statsReplySchema.parse(buildStatsReply(from, to, await store.statsCounts(from, to)));
}
