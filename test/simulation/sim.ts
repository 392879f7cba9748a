/**
 * A seeded, randomized simulation (TigerBeetle's VOPR, small): concurrent fund, release, refund,
 * dispute, resolve, chargebacks, webhook redeliveries (duplicates, out of order), Stripe faults,
 * crashes between Stripe and the completing write, low platform balance, lapsing leases and
 * reconciler runs, over a few rifts, against the real handlers (in-process local stack), DynamoDB
 * Local and the Stripe emulator. After every step the invariants are checked per rift through the
 * API and directly; at the end the reconciler runs until nothing is pending and DynamoDB is
 * compared with the emulator's ledger exactly. The seed fixes the sequence of operations (the
 * interleaving of concurrent I/O is the machine's); a failure prints its seed and the step log.
 */
import { armCrash, disarmAll } from '../../functions/adapters/faults';
import { auditProblems, ledgerProblems, snapshotRift, startTestStack, type HttpAnswer, type StripeState, type TestStack, type Who } from '../support/faults-helpers';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimulationOptions {
  seed: number;
  steps?: number;
  rifts?: number;
  /** A running test stack (one per process); started (and stopped) here when absent. */
  stack?: TestStack;
  /** Print the step log as it goes. */
  verbose?: boolean;
}

export interface SimulationResult {
  seed: number;
  ok: boolean;
  steps: number;
  operations: number;
  failures: string[];
  log: string[];
}

class Rng {
  constructor(readonly next: () => number) {}
  int(lo: number, hi: number) {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number) {
    return this.next() < p;
  }
  weighted<T extends string>(w: Record<T, number>): T {
    const entries = Object.entries(w) as [T, number][];
    let x = this.next() * entries.reduce((s, [, n]) => s + n, 0);
    for (const [k, n] of entries) if ((x -= n) < 0) return k;
    return entries[entries.length - 1]![0];
  }
}

/** What each operation may answer besides its success; anything else is a failure. */
const ALLOWED: Record<string, string[]> = {
  fund: ['rift_already_funded', 'card_declined', 'payment_provider_error', 'idempotency_key_in_use'],
  release: [
    'rift_not_funded', 'rift_disputed', 'milestone_already_released', 'release_in_progress', 'rift_closed', 'insufficient_held_funds',
    'insufficient_platform_balance', 'payment_provider_error', 'idempotency_key_in_use',
  ],
  refund: ['rift_not_funded', 'rift_disputed', 'nothing_to_refund', 'refund_exceeds_held', 'release_in_progress', 'payment_provider_error', 'idempotency_key_in_use', 'refund_in_progress'],
  dispute: ['rift_not_funded', 'rift_closed', 'dispute_already_open', 'idempotency_key_in_use'],
  resolve: [
    'no_open_dispute', 'rift_disputed', 'release_in_progress', 'payment_provider_error', 'insufficient_platform_balance', 'idempotency_key_in_use', 'rift_closed',
    'insufficient_held_funds', 'milestone_already_released', 'nothing_to_refund', 'refund_in_progress',
  ],
};

const SUCCESS: Record<string, number> = { fund: 200, release: 200, refund: 201, dispute: 201, resolve: 200 };
const STRIPE_POSTS = ['/v1/payment_intents', '/v1/transfers', '/v1/refunds'] as const;

export async function runSimulation(opts: SimulationOptions): Promise<SimulationResult> {
  const own = !opts.stack;
  const t = opts.stack ?? (await startTestStack({ stripeTimeoutMs: 600 }));
  const rng = new Rng(mulberry32(opts.seed));
  const steps = opts.steps ?? 40;
  const nRifts = opts.rifts ?? 3;
  const log: string[] = [];
  const failures: string[] = [];
  let operations = 0;
  const say = (line: string) => {
    log.push(line);
    if (opts.verbose) console.log(line);
  };
  /** Is a crash armed (a 500 internal_error is then the expected answer of a crashed request)? */
  let crashArmed = 0;

  try {
    disarmAll();
    await t.emulator('POST', '/_emulator/reset');
    await t.emulator('POST', '/_emulator/webhooks', { url: `${t.stack.apiUrl}/api/webhooks/stripe` });

    // ---- the rifts
    const rifts: { id: string; amounts: number[]; refundKeys: { key: string; amount?: number }[] }[] = [];
    for (let i = 0; i < nRifts; i++) {
      const amounts = Array.from({ length: rng.int(1, 4) }, () => rng.int(1, 50) * 100);
      const r = await t.createRift(amounts, 'usd');
      rifts.push({ id: r.riftId, amounts, refundKeys: [] });
      say(`rift ${i} ${r.riftId} milestones ${amounts.join(',')}`);
    }
    let keySeq = 0;
    const newKey = (p: string) => `${p}-${opts.seed}-${++keySeq}`;

    const check = (what: string, r: HttpAnswer, op: string): string => {
      const outcome = `${r.status}${r.body?.error?.code ? ` ${r.body.error.code}` : ''}${r.headers.get('idempotent-replayed') ? ' (replay)' : ''}`;
      results.push(`${what} → ${outcome}`);
      if (r.status === SUCCESS[op]) return outcome;
      const code = r.body?.error?.code as string | undefined;
      if (r.status >= 500 && code === 'internal_error' && crashArmed > 0) return outcome; // the injected crash
      if (code && ALLOWED[op]!.includes(code) && (code === 'payment_provider_error' ? r.status === 502 : r.status < 500)) return outcome;
      failures.push(`${what}: unexpected ${r.status} ${JSON.stringify(r.body)}`);
      return outcome;
    };
    let results: string[] = [];

    // ---- one operation, chosen by the PRNG, described before it runs
    type Planned = { desc: string; run: () => Promise<unknown> };
    const plan = (): Planned => {
      const ri = rng.int(0, rifts.length - 1);
      const rift = rifts[ri]!;
      const kind = rng.weighted({
        fund: 3, release: 6, refund: 4, dispute: 1.5, resolve: 2, chargeback: 0.4, resend: 2, fault: 2.5, crash: 1, reconcile: 2, lapse: 1, balance: 0.6,
      });
      const tag = `r${ri}`;
      switch (kind) {
        case 'fund': {
          const pm = rng.chance(0.1) ? 'pm_card_chargeDeclined' : 'pm_card_visa';
          const key = rng.chance(0.7) ? newKey('fund') : undefined;
          return {
            desc: `fund ${tag} ${pm}${key ? ` key=${key}` : ''}`,
            run: async () => {
              const r = await t.call('POST', `/api/rifts/${rift.id}/fund`, { body: { paymentMethodId: pm }, ...(key ? { key } : {}) });
              check(`fund ${tag}`, r, 'fund');
            },
          };
        }
        case 'release': {
          const idx = rng.int(0, rift.amounts.length - 1);
          const as: Who = rng.chance(0.8) ? 'buyer' : 'admin';
          const key = rng.chance(0.6) ? newKey('rel') : undefined;
          return {
            desc: `release ${tag} m${idx} as ${as}${key ? ` key=${key}` : ''}`,
            run: async () => {
              const r = await t.call('POST', `/api/rifts/${rift.id}/milestones/${idx}/release`, { as, body: {}, ...(key ? { key } : {}) });
              check(`release ${tag} m${idx}`, r, 'release');
              if (r.status === 200 && r.body.release.transferId === undefined) failures.push(`release ${tag}: 200 without a transferId`);
            },
          };
        }
        case 'refund': {
          const as: Who = rng.chance(0.75) ? 'seller' : 'admin';
          // Reuse an earlier key (a client retry, same body) or a new one with a partial/whole amount.
          const reuse = rift.refundKeys.length > 0 && rng.chance(0.25) ? rng.pick(rift.refundKeys) : undefined;
          const entry = reuse ?? { key: newKey('ref'), ...(rng.chance(0.2) ? {} : { amount: rng.int(1, 30) * 50 }) };
          if (!reuse) rift.refundKeys.push(entry);
          const asFor = reuse ? ((entry as { as?: Who }).as ?? as) : as;
          (entry as { as?: Who }).as = asFor;
          return {
            desc: `refund ${tag} ${entry.amount ?? 'all'} as ${asFor} key=${entry.key}${reuse ? ' (retry)' : ''}`,
            run: async () => {
              const r = await t.call('POST', `/api/rifts/${rift.id}/refunds`, { as: asFor, body: entry.amount === undefined ? {} : { amount: entry.amount }, key: entry.key });
              check(`refund ${tag}`, r, 'refund');
            },
          };
        }
        case 'dispute': {
          const as: Who = rng.chance(0.5) ? 'buyer' : 'seller';
          return {
            desc: `dispute ${tag} by ${as}`,
            run: async () => check(`dispute ${tag}`, await t.call('POST', `/api/rifts/${rift.id}/disputes`, { as, body: { reason: 'sim' } }), 'dispute'),
          };
        }
        case 'resolve': {
          const outcome = rng.pick(['dismiss', 'refund_buyer', 'release_seller'] as const);
          const key = newKey('res');
          return {
            desc: `resolve ${tag} ${outcome}`,
            run: async () => check(`resolve ${tag}`, await t.call('POST', `/api/rifts/${rift.id}/disputes/resolve`, { as: 'admin', body: { outcome }, key }), 'resolve'),
          };
        }
        case 'chargeback':
          return {
            desc: `chargeback ${tag}`,
            run: async () => {
              const r = await t.store.getRift(rift.id);
              if (!r?.paymentIntentId) return;
              try {
                await t.emulator('POST', `/_emulator/payment_intents/${r.paymentIntentId}/dispute`, {});
              } catch (e) {
                // Stripe allows one dispute per charge: a second chargeback is not a thing.
                if (!String(e).includes('charge_disputed')) throw e;
              }
            },
          };
        case 'resend': {
          const pickAt = rng.next();
          const latest = rng.chance(0.5);
          return {
            desc: `webhook resend (${latest ? 'latest' : 'older'} event)`,
            run: async () => {
              const s = await t.stripeState();
              if (!s.events.length) return;
              const e = latest ? s.events[s.events.length - 1]! : s.events[Math.floor(pickAt * s.events.length)]!;
              await t.emulator('POST', '/_emulator/webhooks/resend', { eventId: e.id });
            },
          };
        }
        case 'fault': {
          const path = rng.pick(STRIPE_POSTS);
          const fault = rng.weighted({ error_500: 4, commit_then_error_500: 4, timeout: 1, commit_then_timeout: 1, delay: 1 });
          const times = rng.int(1, 3);
          const delayMs = fault === 'delay' ? rng.pick([200, 900, 1500]) : 900;
          return {
            desc: `fault POST ${path} ${fault} x${times}`,
            run: async () => t.fault('POST', path, fault, times, delayMs),
          };
        }
        case 'crash': {
          const k = rng.pick(['release', 'refund'] as const);
          return {
            desc: `arm crash ${k}`,
            run: async () => {
              armCrash(k);
              crashArmed++;
            },
          };
        }
        case 'reconcile':
          return {
            desc: 'reconciler run',
            run: async () => {
              try {
                const out = await t.reconcile();
                const done = out.items.map((i) => `${i.kind}:${i.outcome}`);
                if (done.length) results.push(`reconciler → ${done.join(',')}`);
              } catch (e) {
                // An armed crash may hit the reconciler itself (the same saga code): an expected death.
                if ((e as Error)?.name !== 'SimulatedCrash') throw e;
                results.push('reconciler → crashed (injected)');
              }
            },
          };
        case 'lapse':
          return {
            desc: `leases of ${tag} lapse (crashed functions time out)`,
            run: async () => t.expireLeases(rift.id),
          };
        case 'balance': {
          const low = rng.chance(0.5);
          return {
            desc: `platform balance ${low ? 'low (500)' : 'restored'}`,
            run: async () => {
              await t.emulator('POST', '/_emulator/balance', { currency: 'usd', available: low ? 500 : 10_000_000 });
            },
          };
        }
      }
    };

    const checkRifts = async (when: string, final: boolean) => {
      const s: StripeState = await t.stripeState();
      for (const [i, r] of rifts.entries()) {
        const snap = await snapshotRift(t, r.id, s);
        const direct = ledgerProblems(snap.rift, snap.intents, s, { allowPending: !final });
        for (const p of direct) failures.push(`${when} r${i}: ${p}`);
        if (final) for (const p of auditProblems(snap.events, snap.intents, snap.rift)) failures.push(`${when} r${i} audit: ${p}`);
        const view = await t.call('GET', `/api/rifts/${r.id}`);
        const a = view.body?.amounts;
        if (view.status !== 200 || !a) failures.push(`${when} r${i}: GET ${view.status}`);
        else {
          if (a.funded !== a.released + a.refunded + a.held || a.held < 0) failures.push(`${when} r${i}: API amounts ${JSON.stringify(a)} break the invariant`);
          // The rift may change between the two reads only when something ran concurrently; steps and their webhooks are awaited, so they agree.
          if (a.held !== snap.rift.held || a.released !== snap.rift.released) failures.push(`${when} r${i}: API ${JSON.stringify(a)} != table`);
        }
      }
    };

    // ---- the steps: 1–3 operations at once, then the invariants
    for (let step = 1; step <= steps && failures.length === 0; step++) {
      const n = rng.chance(0.45) ? rng.int(2, 3) : 1;
      const batch = Array.from({ length: n }, plan);
      say(`step ${step}: ${batch.map((b) => b.desc).join(' || ')}`);
      results = [];
      const settled = await Promise.allSettled(batch.map((b) => b.run()));
      if (results.length) say(`        ${results.join(' | ')}`);
      operations += batch.length;
      for (const [i, s] of settled.entries()) if (s.status === 'rejected') failures.push(`step ${step} ${batch[i]!.desc}: threw ${(s.reason as Error)?.stack ?? s.reason}`);
      if (crashArmed > 0 && !(await crashStillArmed())) crashArmed = 0;
      // A step's webhooks (e.g. payment_intent.succeeded after a fund answered 502) belong to the step:
      // let them land, so the table and the API are read in one quiet state.
      await t.settleWebhooks(20_000);
      await checkRifts(`after step ${step}`, false);
    }

    // ---- the end: no more faults, balance back, leases lapse, reconcile until nothing is pending
    if (failures.length === 0) {
      say('end: faults cleared, balance restored, reconciler until nothing is pending');
      await t.clearFaults();
      disarmAll();
      crashArmed = 0;
      await t.emulator('POST', '/_emulator/balance', { currency: 'usd', available: 10_000_000 });
      await t.settleWebhooks(20_000);
      let pending = 0;
      for (let round = 0; round < 6; round++) {
        for (const r of rifts) await t.expireLeases(r.id);
        await t.reconcile();
        pending = 0;
        for (const r of rifts) pending += (await t.intents(r.id)).filter((i) => i.status === 'pending').length;
        if (pending === 0) break;
      }
      if (pending > 0) failures.push(`end: ${pending} intents still pending after 6 reconciler runs`);
      const stillIndexed = (await t.store.listPendingIntents('\uffff', 1000)).filter((i) => rifts.some((r) => r.id === i.riftId));
      if (stillIndexed.length) failures.push(`end: ${stillIndexed.length} intents still in the pending index`);
      await checkRifts('end', true);
      // Funding: a rift whose PaymentIntent succeeded at Stripe is funded (the webhook saw to it).
      const s = await t.stripeState();
      for (const [i, r] of rifts.entries()) {
        const rift = (await t.store.getRift(r.id))!;
        const ok = s.paymentIntents.filter((p) => p.metadata?.riftId === r.id && p.status === 'succeeded');
        if (ok.length > 0 && rift.funded === 0) failures.push(`end r${i}: ${ok.length} succeeded PaymentIntents but the rift is not funded`);
        if (ok.length > 1) failures.push(`end r${i}: ${ok.length} succeeded PaymentIntents (the buyer paid twice)`);
      }
    }
  } catch (e) {
    failures.push(`simulation crashed: ${(e as Error)?.stack ?? String(e)}`);
  } finally {
    disarmAll();
    await t.clearFaults().catch(() => undefined);
    if (own) await t.stop();
  }
  return { seed: opts.seed, ok: failures.length === 0, steps, operations, failures, log };

  async function crashStillArmed(): Promise<boolean> {
    // The crash counter lives in the faults module; consumeCrash is the only reader, so probe it.
    const { consumeCrash, armCrash: rearm } = await import('../../functions/adapters/faults');
    let armedAny = false;
    for (const kind of ['release', 'refund'] as const) {
      if (consumeCrash({ kind } as never)) {
        rearm(kind);
        armedAny = true;
      }
    }
    return armedAny;
  }
}

export function formatFailure(r: SimulationResult): string {
  return [`SIMULATION FAILED seed=${r.seed} (replay: SEED=${r.seed} npm run simulate)`, ...r.failures.map((f) => `  ! ${f}`), '  step log:', ...r.log.map((l) => `    ${l}`)].join('\n');
}
