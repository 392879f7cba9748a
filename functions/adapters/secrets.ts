import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** Reads a secret once per cold start; the value is never logged. */
const cache = new Map<string, Promise<string>>();

export function secretValue(direct: string | undefined, arn: string | undefined, name: string): Promise<string> {
  if (direct) return Promise.resolve(direct);
  if (!arn) return Promise.reject(new Error(`${name} is not configured`));
  let p = cache.get(arn);
  if (!p) {
    p = new SecretsManagerClient({})
      .send(new GetSecretValueCommand({ SecretId: arn }))
      .then((r) => {
        if (!r.SecretString) throw new Error(`${name} secret is empty`);
        return r.SecretString;
      });
    p.catch(() => cache.delete(arn));
    cache.set(arn, p);
  }
  return p;
}
