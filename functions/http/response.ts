import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { RiftError } from '../core/errors';

export const baseHeaders = (requestId: string): Record<string, string> => ({
  'content-type': 'application/json',
  'cache-control': 'no-store',
  'x-request-id': requestId,
});

export function jsonResult(requestId: string, status: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return { statusCode: status, headers: { ...baseHeaders(requestId), ...headers }, body: JSON.stringify(body) };
}

/** The contract's one error shape; `requestId` equals the `x-request-id` header. */
export function errorResult(requestId: string, err: RiftError): APIGatewayProxyStructuredResultV2 {
  return jsonResult(requestId, err.status, {
    error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}), requestId },
  });
}
