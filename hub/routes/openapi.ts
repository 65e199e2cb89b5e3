import type { FastifyPluginAsync } from 'fastify';
import { hubOpenApi } from '../openapi.ts';

/** GET /openapi.json: the document, built once from the routes the hub has (hub/openapi.ts). */
export const openApiRoutes: FastifyPluginAsync<{
  requireSignatures: boolean;
  version: string;
  /** `METHOD path` of every route registered, filled by buildHub's onRoute hook. */
  registered: ReadonlySet<string>;
}> = async (app, opts) => {
  let body: string | undefined;
  app.get('/openapi.json', async (_request, reply) => {
    // Built on first use: by then every plugin has registered its routes.
    body ??= JSON.stringify(hubOpenApi(opts));
    return reply.type('application/json; charset=utf-8').send(body);
  });
};
