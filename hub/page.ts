import { createHash } from 'node:crypto';
import { HUB_API, LEVEL_LABELS_ZH, LEVELS, type StatsReply } from '../src-shared/index.ts';

/**
 * The hub's start page: today's counts per window, rendered on the server (numbers without JS),
 * then refreshed in place from the stats endpoint. One self-contained document: no external
 * assets, so it works on an offline hall network; inline code is allowed by hash in the CSP.
 */

export const REFRESH_SECONDS = 5;
/** Hall, window, five levels, 合计, 未评价, 异常标记, then the three rates. */
const TABLE_COLUMNS = 13;

/** The look every hub page shares (this one and the fleet page): one place to change it. */
export const PAGE_BASE_STYLE = `
:root { color-scheme: light; font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif; }
body { margin: 0; background: #f4f5f7; color: #1a1a1a; line-height: 1.5; }
header { background: #0a3d7a; color: #fff; padding: 16px 24px; }
header h1 { margin: 0; font-size: 28px; }
header p { margin: 4px 0 0; font-size: 18px; }
header a { color: #fff; }
main { padding: 16px 24px; }
.cards { display: flex; flex-wrap: wrap; gap: 16px; margin-block-end: 16px; }
.card { background: #fff; border: 1px solid #5c6166; border-radius: 6px; padding: 12px 20px; min-inline-size: 180px; }
.card .label { display: block; font-size: 16px; }
.card .value { display: block; font-size: 36px; font-weight: 700; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; background: #fff; inline-size: 100%; font-size: 18px; }
caption { text-align: start; font-size: 20px; font-weight: 700; padding-block-end: 8px; }
th, td { border: 1px solid #5c6166; padding: 6px 10px; }
thead th { background: #e8ecf1; }
td.n { text-align: end; font-variant-numeric: tabular-nums; }
`;

const STYLE = `${PAGE_BASE_STYLE}
tfoot th, tfoot td { font-weight: 700; background: #e8ecf1; }
.note, #status { font-size: 16px; }
`;

const SCRIPT = `
(function () {
  var LEVELS = ['5', '4', '3', '2', '1'];
  var COLUMNS = ${TABLE_COLUMNS};
  var URL = '.${HUB_API}/stats';
  function pct(rate) { return rate === null ? '\\u2014' : (rate * 100).toFixed(1) + '%'; }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function set(id, text) { var e = document.getElementById(id); if (e) e.textContent = String(text); }
  function clock() { return new Date().toLocaleTimeString('zh-CN', { hour12: false, timeZone: 'Asia/Shanghai' }); }
  function render(s) {
    set('day', s.to);
    var rows = document.createDocumentFragment();
    if (s.rows.length === 0) {
      var tr0 = document.createElement('tr');
      var td0 = el('td', '今日暂无评价');
      td0.colSpan = COLUMNS;
      tr0.appendChild(td0);
      rows.appendChild(tr0);
    }
    s.rows.forEach(function (r) {
      var tr = document.createElement('tr');
      tr.appendChild(el('td', r.hall_id));
      var th = el('th', r.window_id);
      th.scope = 'row';
      tr.appendChild(th);
      LEVELS.forEach(function (l) { tr.appendChild(el('td', r.counts[l], 'n')); });
      tr.appendChild(el('td', r.total, 'n'));
      tr.appendChild(el('td', r.not_rated, 'n'));
      tr.appendChild(el('td', r.flagged, 'n'));
      tr.appendChild(el('td', pct(r.good_rate), 'n'));
      tr.appendChild(el('td', pct(r.active_good_rate), 'n'));
      tr.appendChild(el('td', pct(r.not_rated_rate), 'n'));
      rows.appendChild(tr);
    });
    document.getElementById('rows').replaceChildren(rows);
    var t = s.totals;
    LEVELS.forEach(function (l) { set('f-' + l, t.counts[l]); });
    set('f-total', t.total);
    set('f-not-rated', t.not_rated);
    set('f-flagged', t.flagged);
    set('f-good', pct(t.good_rate));
    set('f-active-good', pct(t.active_good_rate));
    set('f-not-rated-rate', pct(t.not_rated_rate));
    set('t-total', t.total);
    set('t-good', pct(t.good_rate));
    set('t-active-good', pct(t.active_good_rate));
    set('t-not-rated-rate', pct(t.not_rated_rate));
    set('t-not-rated', t.not_rated);
    set('t-bad', t.counts['2'] + t.counts['1']);
    set('t-flagged', t.flagged);
  }
  function tick() {
    fetch(URL, { cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(
        function (s) { render(s); set('status', '已更新 ' + clock() + '，每 ${REFRESH_SECONDS} 秒自动刷新'); },
        function () { set('status', '刷新失败（' + clock() + '），显示的是上次取得的数据，稍后自动重试'); }
      )
      .then(function () { setTimeout(tick, ${REFRESH_SECONDS * 1000}); });
  }
  setTimeout(tick, ${REFRESH_SECONDS * 1000});
})();
`;

const cspHash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Content-Security-Policy for the page: nothing but its own inline style and script, and fetches to itself. */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src ${cspHash(STYLE)}`,
  `script-src ${cspHash(SCRIPT)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function formatRate(rate: number | null): string {
  return rate === null ? '—' : `${(rate * 100).toFixed(1)}%`;
}

/** Full HTML of the start page for one day's stats (`stats.from` = `stats.to` = today). */
export function renderStatsPage(stats: StatsReply, renderedAt: string): string {
  const t = stats.totals;
  const headCells = LEVELS.map((l) => `<th scope="col">${LEVEL_LABELS_ZH[l]}</th>`).join('');
  const body =
    stats.rows.length === 0
      ? `<tr><td colspan="${TABLE_COLUMNS}">今日暂无评价</td></tr>`
      : stats.rows
          .map(
            (r) =>
              `<tr><td>${escapeHtml(r.hall_id)}</td><th scope="row">${escapeHtml(r.window_id)}</th>` +
              LEVELS.map((l) => `<td class="n">${r.counts[l]}</td>`).join('') +
              `<td class="n">${r.total}</td><td class="n">${r.not_rated}</td><td class="n">${r.flagged}</td>` +
              `<td class="n">${formatRate(r.good_rate)}</td><td class="n">${formatRate(r.active_good_rate)}</td>` +
              `<td class="n">${formatRate(r.not_rated_rate)}</td></tr>`,
          )
          .join('\n');
  const foot = LEVELS.map((l) => `<td class="n" id="f-${l}">${t.counts[l]}</td>`).join('');
  const bad = t.counts['2'] + t.counts['1'];
  const card = (id: string, label: string, value: string | number) =>
    `<div class="card"><span class="label">${label}</span><span class="value" id="${id}">${value}</span></div>`;
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>好差评 · 今日评价统计</title>
<noscript><meta http-equiv="refresh" content="30"></noscript>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>第九师政务服务“好差评”</h1>
<p>今日评价统计 · <span id="day">${escapeHtml(stats.to)}</span> · <a href="./fleet">终端状态</a></p>
</header>
<main>
<section class="cards" aria-label="今日合计">
${card('t-total', '评价总数', t.total)}
${card('t-good', '好评率（非常满意＋满意）', formatRate(t.good_rate))}
${card('t-active-good', '主动评价好评率', formatRate(t.active_good_rate))}
${card('t-not-rated-rate', '未评价率', formatRate(t.not_rated_rate))}
${card('t-not-rated', '未评价数', t.not_rated)}
${card('t-bad', '差评数（不满意＋非常不满意）', bad)}
${card('t-flagged', '异常标记', t.flagged)}
</section>
<table>
<caption>各窗口今日评价</caption>
<thead><tr><th scope="col">大厅</th><th scope="col">窗口</th>${headCells}<th scope="col">合计</th><th scope="col">未评价</th><th scope="col">异常标记</th><th scope="col">好评率</th><th scope="col">主动评价好评率</th><th scope="col">未评价率</th></tr></thead>
<tbody id="rows">
${body}
</tbody>
<tfoot><tr><th scope="row" colspan="2">合计</th>${foot}<td class="n" id="f-total">${t.total}</td><td class="n" id="f-not-rated">${t.not_rated}</td><td class="n" id="f-flagged">${t.flagged}</td><td class="n" id="f-good">${formatRate(t.good_rate)}</td><td class="n" id="f-active-good">${formatRate(t.active_good_rate)}</td><td class="n" id="f-not-rated-rate">${formatRate(t.not_rated_rate)}</td></tr></tfoot>
</table>
<p class="note">好评率 =（非常满意＋满意）÷ 评价总数；主动评价好评率 = 同一比例，但不计默认评价（目前尚无默认评价，两者相同）；未评价率 = 未评价数 ÷（评价总数＋未评价数），未评价指评价窗口超时关闭、办事群众未作评价。异常标记：带有防刷信号（无办件、连续按键、工作人员操作后即评、非工作时间）的评价，已计入统计，单独列出供核查。</p>
<p id="status" role="status">数据时间 ${escapeHtml(renderedAt)}，每 ${REFRESH_SECONDS} 秒自动刷新</p>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
