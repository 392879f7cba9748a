import { httpHandler } from '../http';
import { openApiDocument } from './openapi';

export const handler = httpHandler({
  'GET /api/health': async () => ({ status: 200, body: { status: 'ok' } }),
  'GET /api/openapi.json': async () => ({ status: 200, body: openApiDocument() }),
});
