import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN_FILE } from '../../hub/server.ts';
import { type DeviceKey, FileKeyStore } from '../../src-main/core/device-key.ts';
import { enroll, RequestSigner } from '../../src-main/core/enrollment.ts';
import type { ConfigContentInput } from '../../src-shared/config-bundle.ts';
import { ADMIN_CONFIG_PATH } from '../../src-shared/config-bundle.ts';
import { HUB_API } from '../../src-shared/index.ts';

/** argon2id of PIN 246810 (the demo roster's), so the counter's auto sign-in staff stays valid. */
export const PIN_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$VNJMTkD+qkanpHAufoR5ow$hcviBuC3f4uV72vx2SS9+qAqPWDwZvk1mV92/K2g6mA';

export const HALL = 'DIV9-T12';
export const WINDOW = 'W01';

/** A division with two halls; the counter under test is DIV9-T12 / W01. */
export function content(windowName = '1号窗口（社保）'): ConfigContentInput {
  return {
    halls: [
      { hall_id: HALL, hall_name: '十二团政务服务中心', settings: { rating_timeout_s: 120 } },
      { hall_id: 'DIV9-MAIN', hall_name: '第九师政务服务中心' },
    ],
    windows: [
      {
        hall_id: HALL,
        window_id: WINDOW,
        window_name: windowName,
        dept_id: 'D-RSJ',
        pad_profile: 'reversed',
        auto_sign_in: '090317',
        settings: { thanks_s: 1 },
      },
      { hall_id: 'DIV9-MAIN', window_id: 'W03', window_name: '3号窗口' },
    ],
    roster: [
      { staff_no: '090317', name: '李明', pin_hash: PIN_HASH, hall_ids: [HALL] },
      { staff_no: '090400', name: '王芳', pin_hash: PIN_HASH, hall_ids: ['DIV9-MAIN'] },
    ],
    items: [{ code: 'SB-01', name: '社保卡补办', mode: 'per_visit' }],
    reasons: {
      version: 'div9-2026.2',
      reasons: [
        { code: '201', level: 2, text: { 'zh-Hans': '办理时间长' } },
        { code: '101', level: 1, text: { 'zh-Hans': '态度恶劣' } },
      ],
    },
    opening_hours: { periods: [['09:30', '13:30']] },
    pad_profiles: { reversed: { key_levels: [1, 2, 3, 4, 5] } },
    settings: {
      ignore_window_s: 0,
      burst_presses: 20,
      burst_window_s: 1,
      after_staff_action_s: 0,
      unstaffed_alarm_min: 30,
      pin_max_attempts: 5,
      pin_lock_s: 300,
      rating_timeout_s: 60,
      thanks_s: 5,
    },
  };
}

export function adminTokenOf(hubDir: string): string {
  return readFileSync(join(hubDir, ADMIN_TOKEN_FILE), 'utf8').trim();
}

export async function publish(
  hubUrl: string,
  token: string | null,
  body: unknown,
  method: 'PUT' | 'POST' = 'PUT',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${hubUrl}${ADMIN_CONFIG_PATH}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function makeEnrollmentToken(hubUrl: string, admin: string): Promise<string> {
  const res = await fetch(`${hubUrl}${HUB_API}/admin/enrollment-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ hall_id: HALL, window_id: WINDOW }),
  });
  if (res.status !== 201) throw new Error(`token: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

/**
 * A terminal enrolled as `haocha enroll` does it (its own key file in dataDir, token from the
 * hub's admin API), and the signer its uploads use.
 */
export async function enrolledSigner(
  hubUrl: string,
  hubDir: string,
  dataDir: string,
  deviceId: string,
): Promise<RequestSigner> {
  const keyStore = new FileKeyStore(dataDir);
  const token = await makeEnrollmentToken(hubUrl, adminTokenOf(hubDir));
  await enroll({ dataDir, hubUrl, token, deviceId, appVersion: 'test', keyStore });
  return new RequestSigner(deviceId, keyStore.load() as DeviceKey);
}
