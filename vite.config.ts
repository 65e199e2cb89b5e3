import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The counter app's renderer: src-renderer/ → dist-renderer/. `base: './'` because the page is
 * served at `/` by the devhost and later by Electron from a custom protocol. Everything is bundled
 * (the halls are often offline): no CDN. `HAOCHA_DEVHOST=http://127.0.0.1:PORT npx vite` forwards
 * `/bridge` to a running devhost during development.
 *
 * Vitest uses vitest.config.ts; should it ever fall back to this file (mode 'test'), the root stays
 * the repository's, so the tests of every folder are still found.
 */
export default defineConfig(({ mode }) => {
  const devhost = process.env.HAOCHA_DEVHOST;
  return {
    ...(mode === 'test' ? {} : { root: fileURLToPath(new URL('./src-renderer', import.meta.url)) }),
    base: './',
    plugins: [react()],
    build: {
      outDir: fileURLToPath(new URL('./dist-renderer', import.meta.url)),
      emptyOutDir: true,
    },
    ...(devhost
      ? { server: { proxy: { '/bridge': { target: devhost.replace(/^http/, 'ws'), ws: true } } } }
      : {}),
  };
});
