import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultLabHome, parseServeArgs } from '#lab/cli/serve-args.ts';

describe('sandgate-lab serve arguments', () => {
  it('defaults to 127.0.0.1:8443 and the per-user state folder', () => {
    const a = parseServeArgs([], {});
    expect(a).toMatchObject({ port: 8443, host: '127.0.0.1', json: false });
    expect(a.dataDir).toBe(join(homedir(), '.local', 'state', 'sandgate-lab'));
  });

  it('takes the data folder from SANDGATE_LAB_HOME, and --data over it', () => {
    expect(defaultLabHome({ SANDGATE_LAB_HOME: '/srv/lab' })).toBe('/srv/lab');
    expect(parseServeArgs(['--data', 'rel/dir'], { SANDGATE_LAB_HOME: '/srv/lab' }).dataDir).toBe(resolve('rel/dir'));
  });

  it('accepts a port, a host and a certificate pair', () => {
    const a = parseServeArgs(['--port', '0', '--host', '::', '--tls-cert', '/c.pem', '--tls-key', '/k.pem', '--json'], {});
    expect(a).toMatchObject({ port: 0, host: '::', tlsCert: '/c.pem', tlsKey: '/k.pem', json: true });
  });

  it('refuses a bad port, a lone certificate and unknown options as USAGE errors', () => {
    for (const argv of [['--port', 'http'], ['--port', '70000'], ['--tls-cert', '/c.pem'], ['--verbose']]) {
      expect(() => parseServeArgs(argv, {}), argv.join(' ')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
  });

  it('takes an IPv6 bind address with or without the brackets a URL needs', () => {
    expect(parseServeArgs(['--host', '::1'], {}).host).toBe('::1');
    expect(parseServeArgs(['--host', '[::1]'], {}).host).toBe('::1');
    expect(parseServeArgs(['--host', '[fd00::5]'], {}).host).toBe('fd00::5');
    expect(parseServeArgs(['--host', 'sandbox.corp.example'], {}).host).toBe('sandbox.corp.example');
    expect(() => parseServeArgs(['--host', '[::1]:8443'], {})).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  it('takes the limits, a client CA and --keep-objects, with sizes in bytes or K, M, G', () => {
    const a = parseServeArgs(
      [
        '--max-connections',
        '100',
        '--max-connections-per-client',
        '8',
        '--max-uploads',
        '4',
        '--min-upload-rate',
        '2K',
        '--rate-window-ms',
        '5000',
        '--headers-timeout-ms',
        '3000',
        '--disk-reserve',
        '1G',
        '--max-upload',
        '512M',
        '--client-ca',
        'agents-ca.pem',
        '--keep-objects',
      ],
      {},
    );
    expect(a.limits).toEqual({
      maxConnections: 100,
      maxConnectionsPerClient: 8,
      maxUploads: 4,
      minUploadBytesPerSec: 2048,
      uploadWindowMs: 5000,
      headersTimeoutMs: 3000,
      diskReserveBytes: 1024 ** 3,
    });
    expect(a).toMatchObject({ maxUploadBytes: 512 * 1024 ** 2, clientCa: resolve('agents-ca.pem'), keepObjects: true });
    expect(parseServeArgs([], {})).toMatchObject({ limits: {}, keepObjects: false });
  });

  it('refuses limits that are not whole numbers or sizes', () => {
    for (const argv of [
      ['--max-uploads', '0'],
      ['--max-uploads', 'many'],
      ['--disk-reserve', '1T'],
      ['--min-upload-rate', '-1'],
      ['--rate-window-ms', '1.5'],
    ]) {
      expect(() => parseServeArgs(argv, {}), argv.join(' ')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
  });
});
