import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { compileErrors, validate } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUB_ROUTES, hubOpenApi } from '../../hub/openapi.ts';
import { buildHub, type Hub } from '../../hub/server.ts';
import { anyRecordArb, chainAs } from './arbitraries.ts';
import { makeTempDir } from './harness.ts';

interface Doc {
  openapi: string;
  paths: Record<string, Record<string, { security?: Record<string, string[]>[]; responses: object }>>;
  components: { securitySchemes: Record<string, { type: string; scheme?: string }> };
}

describe('GET /openapi.json', () => {
  let hub: Hub;
  let dataDir: string;
  let url: string;

  beforeAll(async () => {
    dataDir = await makeTempDir();
    hub = await buildHub({ dataDir, logger: false, requireSignatures: true, rateLimits: false });
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    const address = hub.app.server.address() as { port: number };
    url = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await hub.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function fetchDoc(): Promise<Doc> {
    const res = await fetch(`${url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    return (await res.json()) as Doc;
  }

  it('is a valid OpenAPI 3.1 document', async () => {
    const doc = await fetchDoc();
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
  });

  it('describes every route the hub registered, with its method', async () => {
    const doc = await fetchDoc();
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`),
      ),
    );
    expect(hub.routes.size).toBeGreaterThan(5);
    const missing = [...hub.routes].filter((r) => !documented.has(r));
    expect(missing).toEqual([]);
    // …and nothing the hub does not serve.
    expect([...documented].filter((r) => !hub.routes.has(r))).toEqual([]);
  });

  it('names the security of each kind of route: device signature, admin bearer, none', async () => {
    const doc = await fetchDoc();
    expect(doc.components.securitySchemes.adminBearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.deviceSignature?.type).toBe('apiKey');
    // This hub requires signatures: ingest offers no anonymous alternative.
    expect(doc.paths['/api/v1/ingest']?.post?.security).toEqual([{ deviceSignature: [] }]);
    expect(doc.paths['/api/v1/admin/enrollment-tokens']?.post?.security).toEqual([{ adminBearer: [] }]);
    expect(doc.paths['/api/v1/admin/devices/{id}/revoke']?.post?.security).toEqual([{ adminBearer: [] }]);
    expect(doc.paths['/api/v1/enroll']?.post?.security).toEqual([]);
    expect(doc.paths['/healthz']?.get?.security).toEqual([]);
    expect(Object.keys(doc.paths['/api/v1/ingest']?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '401', '409', '413', '429']),
    );
  });

  it('while unsigned uploads are allowed, ingest says the signature is optional', () => {
    const doc = hubOpenApi({ version: '1', requireSignatures: false }) as unknown as Doc;
    expect(doc.paths['/api/v1/ingest']?.post?.security).toEqual([{ deviceSignature: [] }, {}]);
  });

  it('property: every batch the hub accepts is valid under the ingest body schema the document gives', async () => {
    const doc = (await fetchDoc()) as unknown as {
      paths: {
        '/api/v1/ingest': { post: { requestBody: { content: { 'application/json': { schema: object } } } } };
      };
    };
    const schema = doc.paths['/api/v1/ingest'].post.requestBody.content['application/json'].schema;
    const check = new Ajv2020({ strict: false, validateFormats: false }).compile(schema);
    // A hub taking unsigned batches, so what reaches ingest's schema is what is tested.
    const open = await buildHub({ dataDir: join(dataDir, 'open'), logger: false, rateLimits: false });
    await fc.assert(
      fc.asyncProperty(fc.array(anyRecordArb, { minLength: 1, maxLength: 5 }), async (records) => {
        const deviceId = `ctr-doc-${Math.random().toString(36).slice(2)}`;
        const items = chainAs(
          deviceId,
          records.map((r) => r.event_id),
          records,
        );
        const batch = { device_id: deviceId, items };
        expect(check(batch), JSON.stringify(check.errors)).toBe(true);
        // …and the hub does take it: the document describes what ingest accepts, not more loosely.
        const res = await open.app.inject({ method: 'POST', url: '/api/v1/ingest', payload: batch });
        expect(res.statusCode, res.body).toBe(200);
      }),
      { numRuns: 30 },
    );
    await open.close();
    // A batch the hub refuses at the schema is refused by the document too.
    expect(check({ device_id: 'x', items: [] })).toBe(false);
  });

  it('the route table has one entry per method and path', () => {
    const keys = HUB_ROUTES.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
