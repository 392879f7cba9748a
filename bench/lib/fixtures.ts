/** Rifts created and funded through the API before anything is timed. */
import { mintToken } from '../../local/jwt';
import type { HttpClient } from './http';

export const BUYER = 'user_bench_buyer';
export const SELLER = 'user_bench_seller';
export const ADMIN = 'user_bench_admin';
export const SELLER_ACCOUNT = 'acct_1BenchSeller';
export const MILESTONE_AMOUNT = 100;

export interface Tokens {
  buyer: string;
  seller: string;
  admin: string;
}

export async function tokens(): Promise<Tokens> {
  return {
    buyer: await mintToken({ sub: BUYER, ttlSeconds: 3600 }),
    seller: await mintToken({ sub: SELLER, ttlSeconds: 3600 }),
    admin: await mintToken({ sub: ADMIN, groups: ['admin'], ttlSeconds: 3600 }),
  };
}

export interface FundedRift {
  riftId: string;
  milestones: number;
}

export function createBody(milestones: number, amount = MILESTONE_AMOUNT) {
  return {
    title: 'bench',
    sellerId: SELLER,
    sellerAccountId: SELLER_ACCOUNT,
    currency: 'usd',
    milestones: Array.from({ length: milestones }, (_, i) => ({ title: `m${i}`, amount })),
  };
}

export async function createFundedRift(api: HttpClient, t: Tokens, milestones: number): Promise<FundedRift> {
  const c = await api.request('POST', '/api/rifts', { token: t.buyer, body: createBody(milestones) });
  if (c.status !== 201) throw new Error(`create rift: ${c.status} ${JSON.stringify(c.body)}`);
  const riftId = c.body.riftId as string;
  const f = await api.request('POST', `/api/rifts/${riftId}/fund`, { token: t.buyer, body: { paymentMethodId: 'pm_card_visa' } });
  if (f.status !== 200) throw new Error(`fund rift: ${f.status} ${JSON.stringify(f.body)}`);
  return { riftId, milestones };
}

/** Creates `count` funded rifts, `parallel` at a time. */
export async function createFundedRifts(api: HttpClient, t: Tokens, count: number, milestones: number, parallel = 8): Promise<FundedRift[]> {
  const out: FundedRift[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await createFundedRift(api, t, milestones);
      }
    }),
  );
  return out;
}
