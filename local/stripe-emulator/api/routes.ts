import { accountRoutes } from './accounts';
import { balanceRoutes } from './balance';
import type { Route } from './context';
import { paymentIntentRoutes } from './payment-intents';
import { refundRoutes } from './refunds';
import { transferRoutes } from './transfers';

export const routes: Route[] = [...balanceRoutes, ...paymentIntentRoutes, ...transferRoutes, ...refundRoutes, ...accountRoutes];

export function matchRoute(method: string, path: string): { route: Route; args: string[] } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (m) return { route, args: m.slice(1).map((s) => decodeURIComponent(s)) };
  }
  return undefined;
}
