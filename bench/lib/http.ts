/** A small keep-alive JSON client over node:http (less overhead than fetch under load). */
import http from 'node:http';

export interface JsonResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export function createHttpClient(baseUrl: string, maxSockets = 128) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const base = new URL(baseUrl);
  async function request(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<JsonResponse> {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    return new Promise<JsonResponse>((resolve) => {
      const req = http.request({ host: base.hostname, port: base.port, method, path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, headers: {}, body: { error: { code: e.code ?? 'transport_error', message: e.message } } }));
      });
      // A transport error is an answer too (status 0), so a load run reports it instead of aborting.
      req.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, headers: {}, body: { error: { code: e.code ?? 'transport_error', message: e.message } } }));
      if (payload) req.write(payload);
      req.end();
    });
  }
  return { request, close: () => agent.destroy() };
}
export type HttpClient = ReturnType<typeof createHttpClient>;
