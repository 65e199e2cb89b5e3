import type { i18n as I18n } from 'i18next';
import { useEffect } from 'react';
import { I18nextProvider } from 'react-i18next';
import { DEFAULT_LOCALE, localeFromLocation } from './i18n/index.ts';
import { routeFromHash, useHash } from './route.ts';
import { CitizenScreen } from './screens/CitizenScreen.tsx';
import { ProvisionScreen } from './screens/ProvisionScreen.tsx';
import { StaffScreen } from './screens/StaffScreen.tsx';
import { StoreProvider } from './state/context.tsx';
import type { AppStore } from './state/store.ts';

export function App({ store, i18n }: { store: AppStore; i18n: I18n }) {
  const hash = useHash();
  const route = routeFromHash(hash);
  const defaultLocale = localeFromLocation({ hash, search: window.location.search }) ?? DEFAULT_LOCALE;

  // A `lang` in the address is the hall's default language; switching it needs no reload.
  useEffect(() => {
    if (i18n.language !== defaultLocale) void i18n.changeLanguage(defaultLocale);
  }, [defaultLocale, i18n]);

  return (
    <I18nextProvider i18n={i18n}>
      <StoreProvider store={store}>
        {route === 'staff' ? (
          <StaffScreen />
        ) : route === 'provision' ? (
          <ProvisionScreen />
        ) : (
          <CitizenScreen defaultLocale={defaultLocale} />
        )}
      </StoreProvider>
    </I18nextProvider>
  );
}
