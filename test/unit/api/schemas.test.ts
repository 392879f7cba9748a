import { describe, expect, it } from 'vitest';
import { CreateRiftBody, RefundBody } from '../../../functions/api/schemas';
import { parseWith } from '../../../functions/http/request';
import { RiftError } from '../../../functions/core/errors';

const issuesOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RiftError);
    return (e as RiftError).details!.issues as { path: string; message: string }[];
  }
  throw new Error('expected a validation error');
};

describe('request schemas (zod/mini with English messages)', () => {
  it('say what is wrong, per path, not just "Invalid input"', () => {
    const issues = issuesOf(() => parseWith(CreateRiftBody, { sellerId: 7, extra: 1, currency: 'usd', sellerAccountId: 'acct_1', milestones: [] }));
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'sellerId', message: expect.stringMatching(/expected string, received number/) },
        { path: 'milestones', message: expect.stringMatching(/Too small/) },
        { path: '(body)', message: expect.stringMatching(/Unrecognized key: "extra"/) },
      ]),
    );
  });

  it('refuse floats, strings and out-of-range amounts', () => {
    for (const amount of [1.5, '100', 0, -1, 100_000_000]) {
      const issues = issuesOf(() => parseWith(RefundBody, { amount }));
      expect(issues[0]!.path).toBe('amount');
      expect(issues[0]!.message).not.toBe('Invalid input');
    }
    expect(parseWith(RefundBody, { amount: 99_999_999 })).toEqual({ amount: 99_999_999 });
  });
});
