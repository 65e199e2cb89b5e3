import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Level } from '../../src-shared/index.ts';
import { openTestHub, type TestHub } from './harness.ts';
import { batchOf, makeStream } from './records.ts';

let t: TestHub | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

// 10:00 in Shanghai on 27 November.
const NOW = new Date('2026-11-27T02:00:00Z');

function textOf(html: string, id: string): string | undefined {
  return new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html)?.[1];
}

describe('GET / (today page)', () => {
  it("renders today's counts per window and the totals on the server, in Chinese", async () => {
    t = await openTestHub({ now: () => NOW });
    const levels: Level[] = [5, 5, 4, 1, 3, 5];
    const today = makeStream({
      count: levels.length,
      level: (i) => levels[i] ?? 5,
      windowId: (i) => (i < 4 ? 'W01' : 'W02'),
      ratedAt: (i) => new Date(NOW.getTime() - (i + 1) * 60_000).toISOString(),
    });
    await t.post(batchOf(today, 1, today.length));
    // Yesterday in Shanghai (23:59 on the 26th): not on today's page.
    const yesterday = makeStream({ deviceId: 'counter-02', count: 1, ratedAt: () => '2026-11-26T15:59:00Z' });
    await t.post(batchOf(yesterday, 1, 1));

    const res = await t.get('/');
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toBe('text/html; charset=utf-8');
    const html = res.body;
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('今日评价统计');
    expect(textOf(html, 'day')).toBe('2026-11-27');
    expect(textOf(html, 't-total')).toBe('6');
    expect(textOf(html, 'f-total')).toBe('6');
    expect(textOf(html, 't-good')).toBe('66.7%'); // (3 × 5 + 1 × 4) / 6
    expect(textOf(html, 't-bad')).toBe('1');
    for (const [level, n] of [
      ['5', '3'],
      ['4', '1'],
      ['3', '1'],
      ['2', '0'],
      ['1', '1'],
    ]) {
      expect(textOf(html, `f-${level}`)).toBe(n);
    }
    // One row per window: hall, window, 5 level counts, total, 好评率.
    expect(html).toContain(
      '<tr><td>H-DIV</td><th scope="row">W01</th><td class="n">2</td><td class="n">1</td><td class="n">0</td>' +
        '<td class="n">0</td><td class="n">1</td><td class="n">4</td><td class="n">0</td><td class="n">0</td>' +
        '<td class="n">75.0%</td><td class="n">75.0%</td><td class="n">0.0%</td></tr>',
    );
    expect(html).toContain(
      '<tr><td>H-DIV</td><th scope="row">W02</th><td class="n">1</td><td class="n">0</td><td class="n">1</td>' +
        '<td class="n">0</td><td class="n">0</td><td class="n">2</td><td class="n">0</td><td class="n">0</td>' +
        '<td class="n">50.0%</td><td class="n">50.0%</td><td class="n">0.0%</td></tr>',
    );
  });

  it('shows 未评价, flagged ratings and all three rates, per window and in total', async () => {
    t = await openTestHub({ now: () => NOW });
    const stream = makeStream({
      count: 5,
      level: (i) => ([5, 3, 5, 1, 4] as const)[i] ?? 5,
      outcome: (i) => (i === 2 ? 'not_rated' : 'rated'),
      signals: (i) => (i === 4 ? ['after_staff_action'] : []),
      ratedAt: (i) => new Date(NOW.getTime() - (i + 1) * 60_000).toISOString(),
    });
    await t.post(batchOf(stream, 1, stream.length));
    const html = (await t.get('/')).body;
    expect(textOf(html, 't-total')).toBe('4');
    expect(textOf(html, 't-good')).toBe('50.0%');
    expect(textOf(html, 't-active-good')).toBe('50.0%');
    expect(textOf(html, 't-not-rated-rate')).toBe('20.0%');
    expect(textOf(html, 't-not-rated')).toBe('1');
    expect(textOf(html, 't-flagged')).toBe('1');
    expect(textOf(html, 't-bad')).toBe('1');
    expect(textOf(html, 'f-not-rated')).toBe('1');
    expect(textOf(html, 'f-flagged')).toBe('1');
    expect(textOf(html, 'f-not-rated-rate')).toBe('20.0%');
    for (const label of ['好评率', '主动评价好评率', '未评价率', '未评价', '异常标记'])
      expect(html).toContain(`>${label}<`);
    expect(html).toContain(
      '<td class="n">4</td><td class="n">1</td><td class="n">1</td>' +
        '<td class="n">50.0%</td><td class="n">50.0%</td><td class="n">20.0%</td></tr>',
    );
  });

  it('says so when there are no ratings today', async () => {
    t = await openTestHub({ now: () => NOW });
    const html = (await t.get('/')).body;
    expect(html).toContain('今日暂无评价');
    expect(textOf(html, 't-total')).toBe('0');
    expect(textOf(html, 't-good')).toBe('—');
  });

  it('is self-contained, refreshes from the stats endpoint, and its CSP allows exactly its inline code', async () => {
    t = await openTestHub({ now: () => NOW });
    const res = await t.get('/');
    const html = res.body;
    // No assets at all; the one link is to the hub's own fleet page.
    expect(html.replace('href="./fleet"', '')).not.toMatch(/\b(src|href)=/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain("'./api/v1/stats'");
    expect(html).toContain('setTimeout(tick, 5000)');

    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    const hashOf = (tag: string) => {
      const body = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html)?.[1] ?? '';
      return `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`;
    };
    expect(csp).toContain(`script-src ${hashOf('script')}`);
    expect(csp).toContain(`style-src ${hashOf('style')}`);
  });

  it('escapes hall and window ids', async () => {
    t = await openTestHub({ now: () => NOW });
    const stream = makeStream({
      count: 1,
      hallId: '<b>&"x"</b>',
      ratedAt: () => NOW.toISOString(),
    });
    await t.post(batchOf(stream, 1, 1));
    const html = (await t.get('/')).body;
    expect(html).toContain('&#60;b&#62;&#38;&#34;x&#34;&#60;/b&#62;');
    expect(html).not.toContain('<b>&');
  });
});
