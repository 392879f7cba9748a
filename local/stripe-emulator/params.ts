/** Readers for form params, with Stripe's parameter error messages. */
import { paramError } from './errors';
import type { FormObject, FormValue } from './form';
import type { Metadata } from './store';

export function str(params: FormObject, name: string, required: true): string;
export function str(params: FormObject, name: string, required?: false): string | undefined;
export function str(params: FormObject, name: string, required = false): string | undefined {
  const v = params[name];
  if (v === undefined || v === '') {
    if (required) throw paramError('parameter_missing', `Missing required param: ${name}.`, name);
    return undefined;
  }
  if (typeof v !== 'string') throw paramError('invalid_request', `Invalid string: ${name}`, name);
  return v;
}

export function int(params: FormObject, name: string, required: true): number;
export function int(params: FormObject, name: string, required?: false): number | undefined;
export function int(params: FormObject, name: string, required = false): number | undefined {
  const v = str(params, name, required as false);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw paramError('parameter_invalid_integer', `Invalid integer: ${v}`, name);
  return Number(v);
}

/** Positive amount up to Stripe's 8-digit ceiling. */
export function amount(params: FormObject, name: string, required: boolean): number | undefined {
  const n = required ? int(params, name, true) : int(params, name);
  if (n === undefined) return undefined;
  if (n < 1) throw paramError('invalid_request', 'This value must be greater than or equal to 1.', name);
  if (n > 99_999_999) throw paramError('invalid_request', 'Amount must be no more than 99,999,999.', name);
  return n;
}

export function bool(params: FormObject, name: string): boolean | undefined {
  const v = str(params, name);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw paramError('invalid_request', `Invalid boolean: ${v}`, name);
  return v === 'true';
}

export function currency(params: FormObject): string {
  const v = str(params, 'currency', true).toLowerCase();
  if (!/^[a-z]{3}$/.test(v)) throw paramError('invalid_request', `Invalid currency: ${v}.`, 'currency');
  return v;
}

export function metadata(params: FormObject): Metadata {
  const v: FormValue | undefined = params.metadata;
  if (v === undefined || v === '') return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw paramError('invalid_request', 'Invalid object', 'metadata');
  const out: Metadata = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw paramError('invalid_request', 'Invalid metadata value', `metadata[${k}]`);
    if (val !== '') out[k] = val; // Stripe: an empty value unsets the key
  }
  return out;
}

export function expand(params: FormObject): string[] {
  const v = params.expand;
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}
