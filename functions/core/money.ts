/** Money is an integer number of minor units; these are the contract's limits. */
export const MAX_AMOUNT = 99_999_999;
export const MAX_MILESTONES = 50;

export const isValidAmount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n > 0 && n <= MAX_AMOUNT;

/** Lower-case ISO-4217 codes the service accepts (Stripe's settlement currencies and common others). */
export const SUPPORTED_CURRENCIES = [
  'usd', 'cad', 'eur', 'gbp', 'aud', 'nzd', 'chf', 'sek', 'nok', 'dkk', 'pln', 'czk', 'huf', 'ron', 'bgn',
  'jpy', 'sgd', 'hkd', 'mxn', 'brl', 'inr', 'krw', 'zar', 'aed', 'ils', 'thb', 'myr', 'php', 'idr', 'twd',
] as const;
