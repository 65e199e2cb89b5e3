import { SerialPortMock } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { type SerialPortOpenSettings, SerialTransport } from '../../../drivers/transports/serial.ts';
import { TransportClosedError, type TransportCloseInfo } from '../../../drivers/transports/types.ts';

const PATH = '/dev/ttyMOCK0';

function mockTransport(opts: { baudRate?: number } = {}) {
  SerialPortMock.binding.createPort(PATH, { echo: false, record: true });
  const settings: SerialPortOpenSettings[] = [];
  let port: SerialPortMock | null = null;
  const transport = new SerialTransport({
    path: PATH,
    ...opts,
    createPort: (s) => {
      settings.push(s);
      port = new SerialPortMock(s);
      return port;
    },
  });
  return {
    transport,
    settings,
    port: () => {
      if (!port?.port) throw new Error('port not open');
      return port.port;
    },
  };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(() => {
  SerialPortMock.binding.reset();
});

describe('SerialTransport (on the serialport mock binding)', () => {
  it('opens without hanging up on close (hupcl false), 9600 baud by default, explicit open', async () => {
    const { transport, settings, port } = mockTransport();
    await transport.open();
    expect(settings).toEqual([{ path: PATH, baudRate: 9600, hupcl: false, autoOpen: false, lock: true }]);
    expect(port().openOptions).toMatchObject({ hupcl: false, baudRate: 9600 });
    expect(transport.description).toBe(`serial:${PATH}@9600`);
    await transport.close();
  });

  it('uses the configured baud rate', async () => {
    const { transport, port } = mockTransport({ baudRate: 115200 });
    await transport.open();
    expect(port().openOptions.baudRate).toBe(115200);
    await transport.close();
  });

  it('delivers received bytes as plain Uint8Array and writes bytes out', async () => {
    const { transport, port } = mockTransport();
    const got: Uint8Array[] = [];
    transport.on('data', (d) => got.push(d));
    await transport.open();
    port().emitData(Buffer.from([0xa5, 0x5a]));
    await wait(20);
    expect(got).toHaveLength(1);
    expect(Object.getPrototypeOf(got[0])).toBe(Uint8Array.prototype);
    expect([...(got[0] ?? [])]).toEqual([0xa5, 0x5a]);
    await transport.write(Uint8Array.of(1, 2, 3));
    expect([...port().recording]).toEqual([1, 2, 3]);
    await transport.close();
  });

  it('open() rejects for a port that does not exist', async () => {
    const t = new SerialTransport({ path: '/dev/does-not-exist-haocha' });
    await expect(t.open()).rejects.toThrow();
    expect(t.isOpen).toBe(false);
  });

  it('bad options fail at construction, naming the option', () => {
    expect(() => new SerialTransport({ path: '' })).toThrow(/path/);
    expect(() => new SerialTransport({ path: '/x', baudRate: -1 })).toThrow(/baudRate/);
  });

  it('a read error after open is a disconnect event, not a throw', async () => {
    const { transport, port } = mockTransport();
    const closes: TransportCloseInfo[] = [];
    transport.on('close', (i) => closes.push(i));
    await transport.open();
    const binding = port();
    binding.read = () => Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    binding.emitData(Buffer.from([1])); // completes the pending read; the next one fails
    await wait(50);
    expect(closes).toHaveLength(1);
    expect(closes[0]?.disconnected).toBe(true);
    expect(transport.isOpen).toBe(false);
    await expect(transport.write(Uint8Array.of(1))).rejects.toBeInstanceOf(TransportClosedError);
  });

  it('close() reports disconnected: false and can be called twice', async () => {
    const { transport } = mockTransport();
    const closes: TransportCloseInfo[] = [];
    transport.on('close', (i) => closes.push(i));
    await transport.open();
    await transport.close();
    await transport.close();
    expect(closes).toEqual([{ disconnected: false }]);
  });

  it('can be reopened after close', async () => {
    const { transport } = mockTransport();
    await transport.open();
    await transport.close();
    await transport.open();
    expect(transport.isOpen).toBe(true);
    await transport.close();
  });
});
