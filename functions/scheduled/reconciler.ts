import type { ScheduledEvent } from 'aws-lambda';

// not_implemented: placeholder until its issue builds this handler.
export const handler = async (_event: ScheduledEvent): Promise<{ status: string }> => ({ status: 'not_implemented' });
