import type { MoneyIntent } from '../core/ports';

export const releaseView = (i: MoneyIntent) => ({
  releaseId: i.id,
  riftId: i.riftId,
  milestoneIndex: i.milestoneIndex!,
  amount: i.amount,
  currency: i.currency,
  status: 'completed' as const,
  transferId: i.stripeId!,
  releasedAt: i.completedAt!,
});

export const refundView = (i: MoneyIntent) => ({
  refundId: i.id,
  riftId: i.riftId,
  amount: i.amount,
  currency: i.currency,
  status: 'completed' as const,
  stripeRefundId: i.stripeId!,
  ...(i.reason !== undefined ? { reason: i.reason } : {}),
  createdAt: i.createdAt,
});
