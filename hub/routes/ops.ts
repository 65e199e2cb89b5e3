import type { FastifyPluginAsync } from 'fastify';
import { HUB_HTTP_ERROR_CODES, hubError, sendHubError } from '../errors.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics.ts';
import type { HubContext } from './context.ts';

export const opsRoutes: FastifyPluginAsync<HubContext> = async (app, { store, metrics }) => {
  app.get('/healthz', async (request, reply) => {
    try {
      await store.ping();
    } catch (error) {
      request.log.error({ err: error }, 'health check: store not answering');
      return sendHubError(reply, hubError(503, HUB_HTTP_ERROR_CODES.storeUnavailable, 'store not answering'));
    }
    return { status: 'ok' };
  });

  app.get('/metrics', async (_request, reply) => {
    const text = metrics.render(await store.summary());
    return reply.type(PROMETHEUS_CONTENT_TYPE).send(text);
  });
};
