/**
 * Request and response schemas (zod). The handlers validate with them and the OpenAPI document is
 * generated from them, so the two cannot drift.
 */
import { z } from 'zod';
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { MAX_AMOUNT, MAX_MILESTONES, SUPPORTED_CURRENCIES } from '../core/money';

extendZodWithOpenApi(z);

export const Amount = z.number().int().min(1).max(MAX_AMOUNT).openapi({ description: 'integer minor units', example: 12500 });
export const Currency = z.enum(SUPPORTED_CURRENCIES).openapi({ description: 'lower-case ISO-4217', example: 'usd' });
/** Text must be well-formed Unicode: a lone surrogate cannot be stored as UTF-8 by DynamoDB. */
const wellFormed = (s: string) => (s as string & { isWellFormed(): boolean }).isWellFormed();
const text = (min: number, max: number) => z.string().min(min).max(max).refine(wellFormed, 'must be well-formed Unicode (no lone surrogates)');
const Title = z.string().trim().min(1).max(200).refine(wellFormed, 'must be well-formed Unicode (no lone surrogates)');
const Reason = text(1, 2000);

export const CreateRiftBody = z
  .object({
    title: Title.optional(),
    sellerId: text(1, 255),
    sellerAccountId: z.string().regex(/^acct_[A-Za-z0-9]{1,64}$/, 'must be a Stripe account id (acct_…)'),
    currency: Currency,
    milestones: z.array(z.object({ title: Title, amount: Amount }).strict()).min(1).max(MAX_MILESTONES),
  })
  .strict()
  .openapi('CreateRiftBody');

export const FundBody = z.object({ paymentMethodId: text(1, 255) }).strict().openapi('FundBody');
export const ReleaseBody = z.object({}).strict().openapi('ReleaseBody');
export const RefundBody = z.object({ amount: Amount.optional(), reason: Reason.optional() }).strict().openapi('RefundBody');
export const OpenDisputeBody = z.object({ reason: Reason }).strict().openapi('OpenDisputeBody');
export const ResolveDisputeBody = z.object({ outcome: z.enum(['dismiss', 'refund_buyer', 'release_seller']) }).strict().openapi('ResolveDisputeBody');

export const Milestone = z
  .object({
    index: z.number().int(),
    title: z.string(),
    amount: z.number().int(),
    status: z.enum(['pending', 'releasing', 'released']),
    releasedAt: z.string().optional(),
    transferId: z.string().optional(),
  })
  .openapi('Milestone');

export const Dispute = z
  .object({
    disputeId: z.string(),
    status: z.enum(['open', 'resolved']),
    reason: z.string(),
    openedBy: z.string(),
    source: z.enum(['party', 'chargeback']),
    openedAt: z.string(),
    outcome: z.enum(['dismiss', 'refund_buyer', 'release_seller']).optional(),
    resolvedAt: z.string().optional(),
  })
  .openapi('Dispute');

export const Rift = z
  .object({
    riftId: z.string(),
    title: z.string(),
    buyerId: z.string(),
    sellerId: z.string(),
    sellerAccountId: z.string(),
    currency: z.string(),
    status: z.enum(['awaiting_funding', 'funded', 'disputed', 'completed', 'refunded', 'closed']),
    amounts: z.object({ total: z.number().int(), funded: z.number().int(), released: z.number().int(), refunded: z.number().int(), held: z.number().int() }),
    milestones: z.array(Milestone),
    paymentIntentId: z.string().nullable(),
    dispute: Dispute.nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    version: z.number().int(),
  })
  .openapi('Rift');

export const Release = z
  .object({
    releaseId: z.string(),
    riftId: z.string(),
    milestoneIndex: z.number().int(),
    amount: z.number().int(),
    currency: z.string(),
    status: z.literal('completed'),
    transferId: z.string(),
    releasedAt: z.string(),
  })
  .openapi('Release');

export const Refund = z
  .object({
    refundId: z.string(),
    riftId: z.string(),
    amount: z.number().int(),
    currency: z.string(),
    status: z.literal('completed'),
    stripeRefundId: z.string(),
    reason: z.string().optional(),
    createdAt: z.string(),
  })
  .openapi('Refund');

export const AuditEvent = z
  .object({
    eventId: z.string(),
    type: z.string(),
    at: z.string(),
    actor: z.string(),
    amount: z.number().int().optional(),
    milestoneIndex: z.number().int().optional(),
    stripeId: z.string().optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi('AuditEvent');

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
      requestId: z.string(),
    }),
  })
  .openapi('Error');
