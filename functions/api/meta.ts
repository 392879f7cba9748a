import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { RiftError } from '../core/errors';
import { errorResult, jsonResult } from '../http/response';
import { openApiDocument } from './openapi';

/**
 * Health and the OpenAPI document. Deliberately without the shared HTTP stack (middy, Powertools,
 * the idempotency layer and its DynamoDB client): neither route needs them, and this function's
 * cold start stays a few milliseconds.
 */
export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const requestId = event.requestContext?.requestId ?? `req_${Date.now()}`;
  switch (event.routeKey) {
    case 'GET /api/health':
      return jsonResult(requestId, 200, { status: 'ok' });
    case 'GET /api/openapi.json':
      return jsonResult(requestId, 200, openApiDocument());
    default:
      return errorResult(requestId, new RiftError('not_found', `no route ${event.routeKey}`));
  }
};
