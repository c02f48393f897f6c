/**
 * Lifecycle of the listening server: the Node server (HTTP, or HTTPS from TLSv1.2 with a
 * handshake timeout), its timeouts, connection caps (in total and per source address or IPv6
 * /64), listening, and a graceful close.
 */
import { createServer as createHttpServer } from 'node:http';
import type { RequestListener, Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { sourceKey } from './auth.ts';
import type { Logger } from './logging.ts';

export interface LifecycleOptions {
  /** TLS key and certificate (PEM); `false` serves plain HTTP. */
  tls: { key: Buffer | string; cert: Buffer | string } | false;
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  maxConnections?: number;
  maxConnectionsPerSource?: number;
}

export interface Lifecycle {
  server: Server;
  /** Listen; resolves with the bound address (port 0 = any free port). */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /**
   * Stop accepting, close idle connections, wait for `drain` (running tasks) and in-flight
   * requests up to `graceMs`, then cut what is left and wait for `flush`.
   */
  close(graceMs: number, drain: () => Promise<void>, flush: () => Promise<void>): Promise<void>;
}

/** The (unlistening) Node server for `handler`. */
export function createLifecycle(opts: LifecycleOptions, handler: RequestListener, log: Logger): Lifecycle {
  const server: Server =
    opts.tls === false
      ? createHttpServer(handler)
      : createHttpsServer(
          {
            key: opts.tls.key,
            cert: opts.tls.cert,
            minVersion: 'TLSv1.2',
            handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000,
          },
          handler,
        );
  server.requestTimeout = opts.requestTimeoutMs ?? 30_000;
  server.headersTimeout = opts.headersTimeoutMs ?? 10_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  // Connection caps: Node drops connections over maxConnections itself; per source here.
  server.maxConnections = opts.maxConnections ?? 256;
  const perSourceMax = opts.maxConnectionsPerSource ?? 32;
  const perSource = new Map<string, number>();
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    const key = sourceKey(s.remoteAddress ?? '-');
    const n = perSource.get(key) ?? 0;
    if (n >= perSourceMax) {
      log('warn', 'connection refused: too many connections from this source', {
        source: s.remoteAddress,
        max: perSourceMax,
      });
      s.destroy();
      return;
    }
    perSource.set(key, n + 1);
    sockets.add(s);
    s.on('close', () => {
      sockets.delete(s);
      const left = (perSource.get(key) ?? 1) - 1;
      if (left > 0) perSource.set(key, left);
      else perSource.delete(key);
    });
  });
  server.on('drop', (d?: { remoteAddress?: string }) =>
    log('warn', 'connection refused: too many connections', { source: d?.remoteAddress, max: server.maxConnections }),
  );
  server.on('tlsClientError', (err: Error) => log('debug', 'TLS handshake failed', { error: err.message }));

  return {
    server,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async close(graceMs, drain, flush) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs)));
      await Promise.race([drain(), deadline]);
      if ((await Promise.race([closed.then(() => 'closed' as const), deadline])) === 'timeout')
        for (const s of sockets) s.destroy();
      await closed;
      clearTimeout(timer);
      await flush();
    },
  };
}
