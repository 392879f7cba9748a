/**
 * 100 concurrent releases of ONE milestone through the local API: how long until every request has
 * an answer, how many got 200 (must be 1), which other answers came back, and how many Stripe
 * transfers exist for the rift at the emulator (must be 1).
 */
import type { HttpClient } from './lib/http';
import { createFundedRift, type Tokens } from './lib/fixtures';

export interface ContentionResult {
  requests: number;
  allAnsweredMs: number;
  ok200: number;
  byStatus: Record<string, number>;
  /** One message per answer that is neither 200 nor an expected 409 (for the report). */
  unexpected: Record<string, string>;
  transfers: number;
}

export async function measureContention(api: HttpClient, stripeUrl: string, t: Tokens, requests = 100): Promise<ContentionResult> {
  const rift = await createFundedRift(api, t, 2);
  const t0 = performance.now();
  const answers = await Promise.all(
    Array.from({ length: requests }, () => api.request('POST', `/api/rifts/${rift.riftId}/milestones/0/release`, { token: t.buyer, body: {} })),
  );
  const allAnsweredMs = performance.now() - t0;
  const byStatus: Record<string, number> = {};
  const unexpected: Record<string, string> = {};
  for (const a of answers) {
    const k = a.status === 200 ? '200' : `${a.status} ${a.body?.error?.code ?? ''}`.trim();
    byStatus[k] = (byStatus[k] ?? 0) + 1;
    if (a.status !== 200 && a.status !== 409) unexpected[k] ??= String(a.body?.error?.message ?? '');
  }
  // The emulator's own ledger: every transfer it made, with its transfer_group.
  const state = (await (await fetch(`${stripeUrl}/_emulator/state`)).json()) as { transfers: { transfer_group?: string }[] };
  const transfers = state.transfers.filter((x) => x.transfer_group === rift.riftId).length;
  return { requests, allAnsweredMs, unexpected, ok200: answers.filter((a) => a.status === 200).length, byStatus, transfers };
}
