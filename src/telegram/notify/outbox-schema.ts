/**
 * The full schema of `telegram-outbox.json`. A wrong type inside (e.g. `seenEventSeqs: "x"`, which made every
 * trading alert fail while telegram looked healthy) fails it: the Store quarantines the file and loads the
 * previous generation. Objects are loose so a field added by a newer build survives a round trip.
 */
import * as z from 'zod';
import { chatMovesSchema } from './chat-moves';
import { LOG_DIGEST_ITEMS, LOG_DIGEST_LINE_CHARS } from './log-digest';

const epochMs = z.number().int().min(0);
const priority = z.enum(['critical', 'high', 'normal', 'low']);

/**
 * A chat's alerts that went to the log only (log-digest.ts). What the outbox never writes — more alerts listed than
 * the bound, or than counted — is not a record of it.
 */
export const logOnlyRecordSchema = z
  .looseObject({
    chatId: z.string(),
    since: epochMs,
    count: z.number().int().min(1),
    alerts: z
      .array(
        z.looseObject({
          at: epochMs,
          priority,
          line: z.string().max(LOG_DIGEST_LINE_CHARS),
          count: z.number().int().min(1),
        }),
      )
      .max(LOG_DIGEST_ITEMS),
    alertChat: z.literal(true).optional(),
  })
  .refine((r) => r.alerts.reduce((n, a) => n + a.count, 0) <= r.count, {
    message: 'a log-only record lists more alerts than it counts',
  });

export const outboxEntrySchema = z.looseObject({
  id: z.number().int().min(0),
  key: z.string(),
  priority,
  text: z.string(),
  silent: z.boolean(),
  chatId: z.string(),
  firstAt: epochMs,
  lastAt: epochMs,
  count: z.number().int().min(1),
  eventSeq: z.number().int().min(0).optional(),
  attempts: z.number().int().min(0),
  digest: logOnlyRecordSchema.optional(),
});

export const outboxStateSchema = z.looseObject({
  nextId: z.number().int().min(0),
  entries: z.array(outboxEntrySchema),
  // absent in files written before these fields existed
  dropped: z.number().int().min(0).default(0),
  seenEventSeqs: z.array(z.number().int().min(0)).default([]),
  chatMoves: chatMovesSchema.default([]),
  // one record per chat: a second one for a chat was not written by the outbox
  loggedOnly: z
    .array(logOnlyRecordSchema)
    .default([])
    .refine((rs) => new Set(rs.map((r) => r.chatId)).size === rs.length, {
      message: 'two log-only records for one chat',
    }),
});
