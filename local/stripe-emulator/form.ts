/**
 * Stripe's form encoding: `a[b][c]=1`, `list[]=x`, `list[0]=x`. Values stay strings, as Stripe
 * receives them; handlers coerce and validate. Numeric keys become arrays (the SDK sends
 * `expand[0]=…`), except under `metadata`, whose keys are free-form.
 */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

export function parseForm(body: string): FormObject {
  const root: Node = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const path = splitKey(rawKey);
    if (path.length === 0) continue;
    assign(root, path, value);
  }
  return arrayify(root, []) as FormObject;
}

/** `a[b][]` -> ['a', 'b', ''] */
function splitKey(key: string): string[] {
  const open = key.indexOf('[');
  if (open <= 0) return key ? [key] : [];
  const parts = [key.slice(0, open)];
  const re = /\[([^\]]*)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(key.slice(open)))) parts.push(m[1] ?? '');
  return parts;
}

type Node = { [key: string]: Node | string };

function assign(target: Node, path: string[], value: string): void {
  let node = target;
  for (let i = 0; i < path.length; i++) {
    let key = path[i]!;
    // `[]` appends: give it the next free index so arrayify keeps the order.
    if (key === '') key = String(Object.keys(node).length);
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next === 'object') node = next;
    else node = node[key] = {};
  }
}

function arrayify(node: Node | string, path: string[]): FormValue {
  if (typeof node === 'string') return node;
  const keys = Object.keys(node);
  const out: FormObject = {};
  for (const k of keys) out[k] = arrayify(node[k]!, [...path, k]);
  const isMetadata = path[path.length - 1] === 'metadata';
  if (!isMetadata && keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    return keys.sort((a, b) => Number(a) - Number(b)).map((k) => out[k]!);
  }
  return out;
}

/** Stable, order-insensitive text of params, to compare an idempotent retry with its first request. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
