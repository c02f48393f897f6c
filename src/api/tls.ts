/**
 * The server's TLS key and certificate: given paths, or a self-signed pair made at first start
 * under ROOT/etc/nodenet/ (`nodenet-ssl.key` mode 0600, `nodenet-ssl.pem`). Node cannot mint
 * X.509 certificates, so this runs the `openssl` CLI (argument array, no shell).
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NodenetError } from '../errors.ts';

const run = promisify(execFile);

export interface TlsFiles {
  key: Buffer;
  cert: Buffer;
  keyPath: string;
  certPath: string;
  /** Whether the pair was created just now. */
  created: boolean;
}

/**
 * Load the key and certificate, creating a self-signed pair when neither exists.
 * @param names subject alternative names besides localhost/127.0.0.1/::1 (e.g. the node name)
 */
export async function ensureTls(
  root: string,
  opts: { keyPath?: string; certPath?: string; names?: string[] } = {},
): Promise<TlsFiles> {
  const dir = join(root, 'etc/nodenet');
  const keyPath = opts.keyPath ?? join(dir, 'nodenet-ssl.key');
  const certPath = opts.certPath ?? join(dir, 'nodenet-ssl.pem');
  const given = opts.keyPath !== undefined || opts.certPath !== undefined;
  let created = false;
  const exists = async (p: string) =>
    fs.access(p).then(
      () => true,
      () => false,
    );
  if (!(await exists(keyPath)) || !(await exists(certPath))) {
    if (given) throw new NodenetError('IO', `TLS key or certificate not found (${keyPath}, ${certPath})`);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const tmpKey = `${keyPath}.tmp-${process.pid}`;
    const tmpCert = `${certPath}.tmp-${process.pid}`;
    const san = [
      'DNS:localhost',
      'IP:127.0.0.1',
      'IP:::1',
      ...(opts.names ?? []).filter((n) => /^[A-Za-z0-9.-]+$/.test(n)).map((n) => `DNS:${n}`),
    ];
    // The key file is created 0600 before openssl writes into it.
    await fs.writeFile(tmpKey, '', { mode: 0o600 });
    try {
      await run('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        tmpKey,
        '-out',
        tmpCert,
        '-days',
        '3650',
        '-subj',
        '/OU=nodenet/CN=nodenet self-signed',
        '-addext',
        `subjectAltName=${[...new Set(san)].join(',')}`,
      ]);
      await fs.chmod(tmpKey, 0o600);
      await fs.rename(tmpKey, keyPath);
      await fs.rename(tmpCert, certPath);
      created = true;
    } catch (e) {
      await fs.rm(tmpKey, { force: true });
      await fs.rm(tmpCert, { force: true });
      throw new NodenetError(
        'IO',
        `could not create a self-signed certificate with openssl: ${(e as Error).message.split('\n')[0]}`,
      );
    }
  }
  return { key: await fs.readFile(keyPath), cert: await fs.readFile(certPath), keyPath, certPath, created };
}
