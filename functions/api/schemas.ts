/**
 * Request and response schemas, with `zod/mini` (about 14 KB in a bundle against about 450 KB for
 * classic zod, which cannot be tree-shaken). The handlers validate with them and the OpenAPI
 * document is generated from them (zod's own `toJSONSchema`), so the two cannot drift.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { MAX_AMOUNT, MAX_MILESTONES, SUPPORTED_CURRENCIES } from '../core/money';

// zod/mini ships no messages: load the English ones (about 3 KB) so `details.issues` say what is wrong.
z.config(en());

/** Text must be well-formed Unicode: a lone surrogate cannot be stored as UTF-8 by DynamoDB. */
const wellFormed = z.refine<string>((s) => (s as string & { isWellFormed(): boolean }).isWellFormed(), {
  message: 'must be well-formed Unicode (no lone surrogates)',
});
const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max), wellFormed);
const Title = z.string().check(z.trim(), z.minLength(1), z.maxLength(200), wellFormed);
const Reason = text(1, 2000);

export const Amount = z.int().check(z.minimum(1), z.maximum(MAX_AMOUNT));
export const Currency = z.enum(SUPPORTED_CURRENCIES);

export const CreateRiftBody = z.strictObject({
  title: z.optional(Title),
  sellerId: text(1, 255),
  sellerAccountId: z.string().check(z.regex(/^acct_[A-Za-z0-9]{1,64}$/, 'must be a Stripe account id (acct_…)')),
  currency: Currency,
  milestones: z.array(z.strictObject({ title: Title, amount: Amount })).check(z.minLength(1), z.maxLength(MAX_MILESTONES)),
});

export const FundBody = z.strictObject({ paymentMethodId: text(1, 255) });
export const ReleaseBody = z.strictObject({});
export const RefundBody = z.strictObject({ amount: z.optional(Amount), reason: z.optional(Reason) });
export const OpenDisputeBody = z.strictObject({ reason: Reason });
export const ResolveDisputeBody = z.strictObject({ outcome: z.enum(['dismiss', 'refund_buyer', 'release_seller']) });

// ---- responses (documentation only) ----

const int = z.int();
export const Milestone = z.object({
  index: int,
  title: z.string(),
  amount: int,
  status: z.enum(['pending', 'releasing', 'released']),
  releasedAt: z.optional(z.string()),
  transferId: z.optional(z.string()),
});

export const Dispute = z.object({
  disputeId: z.string(),
  status: z.enum(['open', 'resolved']),
  reason: z.string(),
  openedBy: z.string(),
  source: z.enum(['party', 'chargeback']),
  openedAt: z.string(),
  outcome: z.optional(z.enum(['dismiss', 'refund_buyer', 'release_seller'])),
  resolvedAt: z.optional(z.string()),
});

export const Rift = z.object({
  riftId: z.string(),
  title: z.string(),
  buyerId: z.string(),
  sellerId: z.string(),
  sellerAccountId: z.string(),
  currency: z.string(),
  status: z.enum(['awaiting_funding', 'funded', 'disputed', 'completed', 'refunded', 'closed']),
  amounts: z.object({ total: int, funded: int, released: int, refunded: int, held: int }),
  milestones: z.array(Milestone),
  paymentIntentId: z.nullable(z.string()),
  dispute: z.nullable(Dispute),
  createdAt: z.string(),
  updatedAt: z.string(),
  version: int,
});

export const Release = z.object({
  releaseId: z.string(),
  riftId: z.string(),
  milestoneIndex: int,
  amount: int,
  currency: z.string(),
  status: z.literal('completed'),
  transferId: z.string(),
  releasedAt: z.string(),
});

export const Refund = z.object({
  refundId: z.string(),
  riftId: z.string(),
  amount: int,
  currency: z.string(),
  status: z.literal('completed'),
  stripeRefundId: z.string(),
  reason: z.optional(z.string()),
  createdAt: z.string(),
});

export const AuditEvent = z.object({
  eventId: z.string(),
  type: z.string(),
  at: z.string(),
  actor: z.string(),
  amount: z.optional(int),
  milestoneIndex: z.optional(int),
  stripeId: z.optional(z.string()),
  details: z.optional(z.record(z.string(), z.unknown())),
});

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.optional(z.record(z.string(), z.unknown())),
    requestId: z.string(),
  }),
});
