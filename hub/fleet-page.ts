import { createHash } from 'node:crypto';
import { FLEET_ALARM_LABELS_ZH, type FleetReply, type FleetTerminal } from '../src-shared/index.ts';
import { escapeHtml, PAGE_BASE_STYLE } from './page.ts';

/**
 * The fleet page (/fleet): every terminal with last contact, queue, clock, versions and alarms.
 * Rendered on the server and refreshed by a meta refresh, so it works without JS; one
 * self-contained document like the stats page (hub/page.ts), whose look it shares.
 */

export const FLEET_REFRESH_SECONDS = 30;

const STYLE = `${PAGE_BASE_STYLE}
table { font-size: 17px; }
th, td { vertical-align: top; }
td.id { font-family: monospace; font-size: 14px; word-break: break-all; }
tr.alarm td, tr.alarm th { background: #fde8e8; }
.tag { display: inline-block; border: 1px solid #a51d1d; color: #a51d1d; border-radius: 4px; padding: 0 6px; margin: 1px 2px; font-size: 15px; }
.ok { color: #1d6b2c; }
.note { font-size: 16px; }
`;

const cspHash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Nothing but its own inline style: the page has no script at all. */
export const FLEET_PAGE_CSP = [
  "default-src 'none'",
  `style-src ${cspHash(STYLE)}`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAD_LINK_ZH: Record<string, string> = {
  up: '已连接',
  down: '断开',
  connecting: '连接中',
  none: '未接',
};
const STORE_ZH: Record<string, string> = {
  ok: '正常',
  disk_full: '磁盘已满',
  read_only: '只读',
  error: '故障',
};
const SESSION_ZH: Record<string, string> = {
  signed_out: '未签到',
  idle: '空闲',
  paused: '暂停服务',
  rating_open: '评价中',
  thanks: '评价完成',
};

function shanghaiTime(iso: string | null): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
}

/** Seconds as 秒/分/小时/天, whichever reads best. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '—';
  const s = Math.abs(seconds);
  if (s < 60) return `${Math.round(s)} 秒`;
  if (s < 3600) return `${Math.round(s / 60)} 分钟`;
  if (s < 86_400) return `${(s / 3600).toFixed(1)} 小时`;
  return `${(s / 86_400).toFixed(1)} 天`;
}

/** Counter clock minus hub clock, signed, e.g. "快 2.5 秒" / "慢 10.0 天". */
export function formatOffset(ms: number | null): string {
  if (ms === null) return '—';
  if (Math.abs(ms) < 1000) return '准确';
  return `${ms > 0 ? '快' : '慢'} ${formatDuration(Math.abs(ms) / 1000)}`;
}

function cell(text: string | number, cls?: string): string {
  return `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(String(text))}</td>`;
}

function row(t: FleetTerminal): string {
  const alarms =
    t.alarms.length === 0
      ? '<span class="ok">正常</span>'
      : t.alarms.map((a) => `<span class="tag">${escapeHtml(FLEET_ALARM_LABELS_ZH[a])}</span>`).join('');
  return (
    `<tr${t.alarms.length > 0 ? ' class="alarm"' : ''}>` +
    cell(t.hall_id ?? '—') +
    `<th scope="row">${escapeHtml(t.window_id ?? '—')}</th>` +
    cell(t.device_id, 'id') +
    cell(shanghaiTime(t.last_seen_at)) +
    cell(t.queue_depth ?? '—', 'n') +
    cell(formatDuration(t.oldest_unsent_age_s), 'n') +
    cell(formatOffset(t.clock_offset_ms), 'n') +
    cell(t.app_version ?? '—') +
    cell(t.config_version ?? '—') +
    cell(t.pad_link ? (PAD_LINK_ZH[t.pad_link] ?? t.pad_link) : '—') +
    cell(t.store_health ? (STORE_ZH[t.store_health] ?? t.store_health) : '—') +
    cell(t.session_state ? (SESSION_ZH[t.session_state] ?? t.session_state) : '—') +
    `<td>${alarms}</td></tr>`
  );
}

const COLUMNS = 13;

export function renderFleetPage(fleet: FleetReply): string {
  const withAlarms = fleet.terminals.filter((t) => t.alarms.length > 0).length;
  const queued = fleet.terminals.reduce((n, t) => n + (t.queue_depth ?? 0), 0);
  const card = (label: string, value: string | number) =>
    `<div class="card"><span class="label">${label}</span><span class="value">${escapeHtml(String(value))}</span></div>`;
  const body =
    fleet.terminals.length === 0
      ? `<tr><td colspan="${COLUMNS}">尚无终端上传、登记或发送心跳</td></tr>`
      : fleet.terminals.map(row).join('\n');
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${FLEET_REFRESH_SECONDS}">
<title>好差评 · 终端状态</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>第九师政务服务“好差评”</h1>
<p>终端状态 · <a href="./">今日评价统计</a></p>
</header>
<main>
<section class="cards" aria-label="终端合计">
${card('终端总数', fleet.terminals.length)}
${card('有告警的终端', withAlarms)}
${card('待上传评价', queued)}
</section>
<table>
<caption>各终端状态</caption>
<thead><tr><th scope="col">大厅</th><th scope="col">窗口</th><th scope="col">终端编号</th><th scope="col">最后联系</th><th scope="col">待上传</th><th scope="col">最早未上传</th><th scope="col">时钟偏差</th><th scope="col">程序版本</th><th scope="col">配置版本</th><th scope="col">评价器</th><th scope="col">存储</th><th scope="col">窗口状态</th><th scope="col">告警</th></tr></thead>
<tbody>
${body}
</tbody>
</table>
<p class="note">心跳中断：超过 3 个心跳周期（默认每 30 秒一次）未收到终端心跳。时钟偏差：终端时钟减去中心时钟（收到心跳时），评价时间由中心按心跳校正。上传已停止：链校验不符，需信息中心处理。</p>
<p class="note" role="status">数据时间 ${escapeHtml(shanghaiTime(fleet.server_time))}，每 ${FLEET_REFRESH_SECONDS} 秒自动刷新</p>
</main>
</body>
</html>
`;
}
