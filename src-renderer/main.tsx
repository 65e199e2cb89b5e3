import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { createClient, pickTransport } from './client/index.ts';
import { bindDocumentLanguage, createI18n, DEFAULT_LOCALE, localeFromLocation } from './i18n/index.ts';
import { createAppStore } from './state/store.ts';
import './styles.css';

async function boot(): Promise<void> {
  const root = document.getElementById('root');
  if (!root) throw new Error('#root missing from index.html');
  const i18n = await createI18n(localeFromLocation(window.location) ?? DEFAULT_LOCALE);
  bindDocumentLanguage(i18n);
  const client = createClient(pickTransport());
  const store = createAppStore(client);
  store.getState().start();
  createRoot(root).render(<App store={store} i18n={i18n} />);
}

void boot();
