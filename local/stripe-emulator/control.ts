/**
 * `/_emulator/*`: test and demo controls. JSON in and out, no auth. Errors use Stripe's shape.
 */
import { openDispute } from './disputes';
import { StripeApiError, invalidRequest } from './errors';
import type { Faults } from './faults';
import type { Json, Store } from './store';
import type { Webhooks } from './webhooks';

export interface ControlDeps {
  store: Store;
  webhooks: Webhooks;
  faults: Faults;
  reset(): void;
}

type Result = { status: number; body: unknown };

export async function handleControl(deps: ControlDeps, method: string, path: string, rawBody: string): Promise<Result> {
  const { store, webhooks, faults } = deps;
  let body: Json = {};
  if (rawBody.trim()) {
    try {
      const parsed: unknown = JSON.parse(rawBody);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Json;
      else throw new Error();
    } catch {
      throw invalidRequest('invalid_json', 'Body must be a JSON object');
    }
  }
  const route = `${method} ${path}`;

  if (route === 'POST /_emulator/reset') {
    deps.reset();
    return ok({ reset: true });
  }
  if (route === 'GET /_emulator/state') {
    return ok({
      ...store.snapshot(),
      events: [...webhooks.events.values()],
      webhookDeliveries: [...webhooks.deliveries.values()],
      webhookUrl: webhooks.url ?? null,
      faults: faults.all(),
    });
  }
  if (route === 'POST /_emulator/balance') {
    const { currency, available, pending } = body;
    if (typeof currency !== 'string' || !/^[a-zA-Z]{3}$/.test(currency)) throw invalidRequest('parameter_invalid', 'currency must be a 3-letter code', 'currency');
    if (!Number.isInteger(available)) throw invalidRequest('parameter_invalid_integer', 'available must be an integer (minor units)', 'available');
    if (pending !== undefined && !Number.isInteger(pending)) throw invalidRequest('parameter_invalid_integer', 'pending must be an integer (minor units)', 'pending');
    const b = store.balance(currency.toLowerCase());
    b.available = available as number;
    if (pending !== undefined) b.pending = pending as number;
    return ok({ currency: currency.toLowerCase(), ...b });
  }
  if (route === 'POST /_emulator/faults') {
    try {
      return ok(faults.add(body));
    } catch (e) {
      throw invalidRequest('parameter_invalid', (e as Error).message);
    }
  }
  if (route === 'GET /_emulator/faults') return ok({ faults: faults.all() });
  if (route === 'DELETE /_emulator/faults') {
    faults.reset();
    return ok({ faults: [] });
  }
  if (route === 'POST /_emulator/webhooks') {
    const { url } = body;
    if (url !== null && url !== undefined && typeof url !== 'string') throw invalidRequest('parameter_invalid', 'url must be a string or null', 'url');
    webhooks.url = (url as string | null) ?? undefined;
    return ok({ webhookUrl: webhooks.url ?? null });
  }
  if (route === 'POST /_emulator/webhooks/resend') {
    const { eventId } = body;
    if (typeof eventId !== 'string') throw invalidRequest('parameter_missing', 'eventId is required', 'eventId');
    const delivery = await webhooks.resend(eventId);
    if (!delivery) throw invalidRequest('resource_missing', `No such event: '${eventId}'`, 'eventId', 404);
    return ok(delivery);
  }
  const dispute = /^POST \/_emulator\/payment_intents\/([^/]+)\/dispute$/.exec(route);
  if (dispute) return ok(openDispute(store, webhooks, decodeURIComponent(dispute[1]!), body));

  throw new StripeApiError(404, { type: 'invalid_request_error', message: `Unrecognized emulator control URL (${route})` });
}

function ok(body: unknown): Result {
  return { status: 200, body };
}
