import i18next, { type i18n as I18n } from 'i18next';
import { initReactI18next } from 'react-i18next';
import kkArabCN from './kk-Arab-CN.json' with { type: 'json' };
import ug from './ug.json' with { type: 'json' };
import zhCN from './zh-CN.json' with { type: 'json' };

/**
 * zh-CN is the default; Kazakh is always `kk-Arab-CN`, never plain `kk` (ICU reads that as Cyrillic
 * and LTR; ui-guidelines §4). Translations come from translators and native readers: values that
 * still carry "[TODO <locale>]" are the Chinese text awaiting translation.
 */
export const LOCALES = ['zh-CN', 'ug', 'kk-Arab-CN'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'zh-CN';

const DIRECTION: Record<Locale, 'ltr' | 'rtl'> = { 'zh-CN': 'ltr', ug: 'rtl', 'kk-Arab-CN': 'rtl' };

export const resources = {
  'zh-CN': { translation: zhCN },
  ug: { translation: ug },
  'kk-Arab-CN': { translation: kkArabCN },
} as const;

declare module 'i18next' {
  interface CustomTypeOptions {
    resources: { translation: typeof zhCN };
  }
}

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

export function direction(locale: Locale): 'ltr' | 'rtl' {
  return DIRECTION[locale];
}

/** The locale asked for by `?lang=` in the page's query or in the hash route (`#/citizen?lang=ug`). */
export function localeFromLocation(loc: Pick<Location, 'search' | 'hash'>): Locale | null {
  const fromSearch = new URLSearchParams(loc.search).get('lang');
  const hashQuery = loc.hash.includes('?') ? loc.hash.slice(loc.hash.indexOf('?') + 1) : '';
  const fromHash = new URLSearchParams(hashQuery).get('lang');
  const asked = fromHash ?? fromSearch;
  return isLocale(asked) ? asked : null;
}

/** Keeps `<html lang dir>` in step with the language, without reloading (ui-guidelines §4). */
export function bindDocumentLanguage(instance: I18n, doc: Document = document): () => void {
  const apply = (lng: string) => {
    const locale = isLocale(lng) ? lng : DEFAULT_LOCALE;
    doc.documentElement.lang = locale;
    doc.documentElement.dir = direction(locale);
  };
  apply(instance.language);
  instance.on('languageChanged', apply);
  return () => instance.off('languageChanged', apply);
}

export async function createI18n(locale: Locale = DEFAULT_LOCALE): Promise<I18n> {
  const instance = i18next.createInstance();
  await instance.use(initReactI18next).init({
    resources,
    lng: locale,
    fallbackLng: DEFAULT_LOCALE,
    supportedLngs: [...LOCALES],
    load: 'currentOnly',
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  return instance;
}
