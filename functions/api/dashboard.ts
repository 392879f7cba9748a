/**
 * `GET /admin/stripe-balance`: the admin dashboard page (no auth here: the page asks for a
 * token and every API call it makes is authorized by the API). The script and stylesheet are
 * inlined (functions/dashboard/bundle.generated.ts) and pinned by hash in the CSP; nothing is
 * loaded from another origin.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { contentSecurityPolicy, renderPage } from '../dashboard/page';

const PAGE = renderPage();
const CSP = contentSecurityPolicy();

export const pageHeaders = (requestId: string): Record<string, string> => ({
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CSP,
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  'x-request-id': requestId,
});

/** Only `GET /admin/stripe-balance` is routed here (functions/routes.ts). */
export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const requestId = event.requestContext?.requestId ?? `req_${Date.now()}`;
  return { statusCode: 200, headers: pageHeaders(requestId), body: PAGE };
};
