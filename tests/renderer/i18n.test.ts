import { describe, expect, it } from 'vitest';
import { createI18n, direction, LOCALES, localeFromLocation } from '../../src-renderer/i18n/index.ts';
import kk from '../../src-renderer/i18n/kk-Arab-CN.json' with { type: 'json' };
import ug from '../../src-renderer/i18n/ug.json' with { type: 'json' };
import zh from '../../src-renderer/i18n/zh-CN.json' with { type: 'json' };
import { LEVEL_LABELS_ZH, LEVELS } from '../../src-shared/levels.ts';

type Tree = { [k: string]: string | Tree };
function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk2, vv] of flatten(v, key)) out.set(kk2, vv);
  }
  return out;
}
const placeholders = (s: string) => [...s.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]).sort();

describe('locale files', () => {
  const zhFlat = flatten(zh);
  for (const [name, file] of [
    ['ug', ug],
    ['kk-Arab-CN', kk],
  ] as const) {
    const flat = flatten(file as Tree);
    it(`${name} has exactly the keys of zh-CN, with the same placeholders`, () => {
      expect([...flat.keys()].sort()).toEqual([...zhFlat.keys()].sort());
      for (const [key, value] of zhFlat)
        expect(placeholders(flat.get(key) ?? ''), key).toEqual(placeholders(value));
    });
    it(`${name}: a value still in Chinese carries a TODO marker (level labels and language names excepted)`, () => {
      for (const [key, value] of flat) {
        if (key.startsWith('level.') || (key.startsWith('language.') && key !== 'language.label')) continue;
        if (/[\u4e00-\u9fff]/.test(value)) expect(value, key).toContain(`[TODO ${name}]`);
      }
    });
  }

  it('zh-CN carries the official level labels and the prompts of ui-guidelines §2', () => {
    for (const level of LEVELS) expect(zh.level[level]).toBe(LEVEL_LABELS_ZH[level]);
    expect(zh.citizen.prompt).toBe('请您对我的服务做出评价');
    expect(zh.citizen.failed).toBe('评价未能保存，请再按一次或扫码评价');
    expect(zh.citizen.submitting).toBe('正在提交…');
    expect(JSON.stringify(zh)).not.toMatch(/TODO/);
  });
});

describe('locale handling', () => {
  it('is rtl for ug and kk-Arab-CN, ltr for zh-CN', () => {
    expect(LOCALES.map(direction)).toEqual(['ltr', 'rtl', 'rtl']);
  });

  it('reads ?lang= from the query or the hash route, and ignores unknown or plain kk', () => {
    expect(localeFromLocation({ search: '?lang=ug', hash: '' })).toBe('ug');
    expect(localeFromLocation({ search: '', hash: '#/staff?lang=kk-Arab-CN' })).toBe('kk-Arab-CN');
    expect(localeFromLocation({ search: '?lang=kk', hash: '#/citizen' })).toBeNull();
    expect(localeFromLocation({ search: '', hash: '' })).toBeNull();
  });

  it('translates through i18next with zh-CN as the fallback', async () => {
    const i18n = await createI18n('kk-Arab-CN');
    expect(i18n.t('language.kk-Arab-CN')).toBe('قازاق ءتىلى');
    expect(i18n.t('staff.status.queue', { n: 4 })).toContain('4');
    await i18n.changeLanguage('zh-CN');
    expect(i18n.t('staff.status.queue', { n: 4 })).toBe('待上传 4 条');
  });
});
