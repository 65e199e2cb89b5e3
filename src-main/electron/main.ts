// Electron's main process: thin glue around the same core services the devhost runs. It owns
// the window, security settings and IPC registration; every rule lives in src-main/core.
import { existsSync, readFileSync } from 'node:fs';
import { join, normalize, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { app, BrowserWindow, ipcMain, protocol, safeStorage, session } from 'electron';
import { PadSimulator } from '../../drivers/sim/pad-simulator.ts';
import { createMemoryPair } from '../../drivers/transports/memory.ts';
import { createCallHandler } from '../core/call-handler.ts';
import { loadCounterConfig } from '../core/config.ts';
import { Counter } from '../core/counter.ts';
import { SafeStorageKeyStore } from '../core/device-key.ts';
import { forwardEvents } from '../core/event-forwarder.ts';
import { type AutoPadAttachment, attachPad, attachPadAuto, type PadAttachment } from '../core/pad.ts';
import { padSource, withPadProfile } from '../core/pad-config.ts';

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

protocol.registerSchemesAsPrivileged([
  { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

const { values } = parseArgs({
  args: process.argv.slice(app.isPackaged ? 1 : 2),
  options: {
    data: { type: 'string' },
    hub: { type: 'string' },
    pad: { type: 'string' },
    config: { type: 'string' },
    'staff-window': { type: 'boolean' },
  },
  strict: false,
});

if (!app.requestSingleInstanceLock()) app.quit();

async function boot(): Promise<void> {
  await app.whenReady();
  const rendererDir = resolve(__dirname, '..', 'dist-renderer');
  protocol.handle('app', (req) => {
    const url = new URL(req.url);
    const file = normalize(
      join(rendererDir, decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname)),
    );
    if (!file.startsWith(rendererDir + sep) || !existsSync(file))
      return new Response('not found', { status: 404 });
    const type = file.endsWith('.js')
      ? 'text/javascript'
      : file.endsWith('.css')
        ? 'text/css'
        : file.endsWith('.html')
          ? 'text/html'
          : 'application/octet-stream';
    return new Response(readFileSync(file), {
      headers: { 'content-type': type, 'content-security-policy': CSP },
    });
  });
  // Deny every permission (camera, notifications, …): a kiosk asks for none.
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));

  const dataDir = resolve(String(values.data ?? join(app.getPath('userData'), 'data')));
  const loaded = loadCounterConfig(typeof values.config === 'string' ? values.config : undefined);
  // The pad as `haocha counter` chooses it: --pad wins over the config's pad section; a named
  // profile's key map replaces key_levels (src-main/cli/run-counter.ts does the same).
  const source = padSource(typeof values.pad === 'string' ? values.pad : null, loaded.pad);
  const config = withPadProfile(loaded, source);
  const counter = new Counter({
    dataDir,
    hubUrl: String(values.hub ?? 'http://127.0.0.1:8700'),
    config,
    // The device key in the OS keystore; the store refuses Linux's basic_text fallback.
    keyStore: new SafeStorageKeyStore(dataDir, safeStorage),
  });
  counter.start();
  let fixedPad: PadAttachment | null = null;
  let autoPad: AutoPadAttachment | null = null;
  let sim: PadSimulator | null = null;
  if (source.kind === 'sim') {
    // No socat on this machine: the demo's pad is simulated in this process over an in-memory link.
    const [hostEnd, padEnd] = createMemoryPair();
    sim = new PadSimulator({ transport: padEnd });
    await sim.start();
    fixedPad = attachPad(counter, 'memory:sim', () => hostEnd);
  } else if (source.kind === 'path')
    fixedPad = attachPad(counter, source.path, undefined, { profile: source.profile });
  else if (source.kind === 'auto')
    autoPad = attachPadAuto(counter, { serial: source.serial, profile: source.profile });
  const pad = {
    async close() {
      await fixedPad?.close();
      await autoPad?.close();
      await sim?.stop();
    },
  };

  const win = new BrowserWindow({
    width: 1920,
    height: 1080,
    show: false,
    webPreferences: {
      preload: join(__dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));

  const windows = new Set([win.webContents]);
  const handle = createCallHandler(counter);
  ipcMain.handle('haocha:invoke', (e, name: unknown, args: unknown) => {
    // Only our own windows may call in; anything else is refused like an unknown call.
    if (!windows.has(e.sender) || typeof name !== 'string') {
      return { ok: false, error: { code: 'UNKNOWN_CALL', message: 'caller not allowed' } };
    }
    return handle(name, args);
  });
  forwardEvents(counter, (event, payload) => {
    for (const wc of windows) if (!wc.isDestroyed()) wc.send('haocha:event', event, payload);
  });
  win.once('ready-to-show', () => win.show());
  await win.loadURL('app://counter/index.html#/citizen');
  if (values['staff-window']) {
    // The demo's stand-in for the staff's own console: a second window on the staff screen.
    const staff = new BrowserWindow({
      width: 1280,
      height: 800,
      webPreferences: {
        preload: join(__dirname, 'preload.cjs'),
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
      },
    });
    staff.webContents.on('will-navigate', (e) => e.preventDefault());
    staff.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
    windows.add(staff.webContents);
    staff.on('closed', () => windows.delete(staff.webContents));
    await staff.loadURL('app://counter/index.html#/staff');
  }

  app.on('window-all-closed', async () => {
    await pad?.close();
    await counter.close();
    app.quit();
  });
}

boot().catch((e) => {
  console.error(e);
  app.exit(1);
});
