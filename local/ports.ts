import net from 'node:net';

/** Asks the OS for a free loopback port (tests run several stacks side by side). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves when nothing listens on the port; rejects with a one-line hint naming the variable. */
export function assertPortFree(port: number, variable: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'EADDRINUSE' ? `port ${port} is in use: set ${variable} to another port` : `cannot bind port ${port} (${variable}): ${e.message}`)),
    );
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
  });
}
