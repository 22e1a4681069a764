/** What the guard needs to know about a key. */
export interface ApiKeyRecord {
  apiKey: string;
  serviceName: string;
  revokedAt: Date | null;
  expiresAt: Date | null;
}

/** Whether a key may authenticate at `now`. */
export function isKeyActive(record: ApiKeyRecord, now: number): boolean {
  if (record.revokedAt !== null) return false;
  return record.expiresAt === null || record.expiresAt.getTime() > now;
}
