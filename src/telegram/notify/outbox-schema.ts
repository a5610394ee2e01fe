/**
 * The full schema of `telegram-outbox.json`. A wrong type inside (e.g. `seenEventSeqs: "x"`, which made every
 * trading alert fail while telegram looked healthy) fails it: the Store quarantines the file and loads the
 * previous generation. Objects are loose so a field added by a newer build survives a round trip.
 */
import * as z from 'zod';
import { chatMovesSchema } from './chat-moves';

const epochMs = z.number().int().min(0);

export const outboxEntrySchema = z.looseObject({
  id: z.number().int().min(0),
  key: z.string(),
  priority: z.enum(['critical', 'high', 'normal', 'low']),
  text: z.string(),
  silent: z.boolean(),
  chatId: z.string(),
  firstAt: epochMs,
  lastAt: epochMs,
  count: z.number().int().min(1),
  eventSeq: z.number().int().min(0).optional(),
  attempts: z.number().int().min(0),
});

export const outboxStateSchema = z.looseObject({
  nextId: z.number().int().min(0),
  entries: z.array(outboxEntrySchema),
  // absent in files written before these fields existed
  dropped: z.number().int().min(0).default(0),
  seenEventSeqs: z.array(z.number().int().min(0)).default([]),
  chatMoves: chatMovesSchema.default([]),
});
