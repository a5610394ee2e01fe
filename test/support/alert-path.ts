/**
 * telegram's alert path as src/telegram/main.ts wires it, over a data dir: one Store (telegram-outbox.json) for the
 * outbox and the chat-move book, Outbox → FallbackSender → TelegramSender (real telegraf against the emulator) or the
 * log, DeliveryHealth. The tests of a group upgraded to a supergroup start it once per "run" of the service.
 */
import { systemClock } from '../../src/shared/clock';
import type { Logger } from '../../src/shared/logging/logger';
import type { DurableWriter } from '../../src/shared/persistence/durable-json-adapter';
import { Store, type StoreOptions } from '../../src/shared/persistence/store';
import { TelegramSender } from '../../src/telegram/bot/telegram-sender';
import { ChatMoves } from '../../src/telegram/notify/chat-move-book';
import type { ChatSettings } from '../../src/telegram/notify/chat-moves';
import { DeliveryHealth } from '../../src/telegram/notify/delivery-health';
import { FallbackSender } from '../../src/telegram/notify/fallback-sender';
import { LogSender } from '../../src/telegram/notify/log-sender';
import {
  OUTBOX_STORE_NAME,
  OUTBOX_STORE_VERSION,
  Outbox,
  validateOutboxState,
} from '../../src/telegram/notify/outbox';
import { emptyOutboxState, type OutboxState } from '../../src/telegram/notify/outbox-queue';

export interface AlertPathOptions {
  dir: string;
  /** The Bot API's root (the emulator's) and the bot token. */
  apiRoot: string;
  token: string;
  logger: Logger;
  /**
   * The chat settings: given, the service's ChatMoves book is wired and started (moves kept in the store, the new
   * chat told), as main.ts does; without, the outbox follows moves with its own default book.
   */
  settings?: ChatSettings;
  /** The alert chat (default: settings.chatId, else 'log'). */
  defaultChatId?: string;
  /** The store's durable writer (a full disk, say). */
  writer?: DurableWriter;
  /** Start the outbox's sender at once (default true). */
  start?: boolean;
  /** The FallbackSender's backoff while Telegram refuses (default its own: 30 s doubling to 10 min). */
  refusalBackoffMs?: number;
}

export interface AlertPath {
  store: Store<OutboxState>;
  outbox: Outbox;
  health: DeliveryHealth;
  moves: ChatMoves | undefined;
  /** Stops the outbox and closes the store; again is a no-op. */
  close(): Promise<void>;
}

/** telegram-outbox.json opened as the service opens it (its name, version, defaults and full schema check). */
export function openOutboxStore(
  dir: string,
  more: Pick<StoreOptions<OutboxState>, 'writer' | 'onCorrupt'> = {},
): Promise<Store<OutboxState>> {
  return Store.open<OutboxState>({
    clock: systemClock,
    dir,
    name: OUTBOX_STORE_NAME,
    version: OUTBOX_STORE_VERSION,
    defaults: emptyOutboxState,
    validate: validateOutboxState,
    ...more,
  });
}

export async function startAlertPath(o: AlertPathOptions): Promise<AlertPath> {
  const store = await openOutboxStore(o.dir, o.writer ? { writer: o.writer } : {});
  const health = new DeliveryHealth({ logger: o.logger, clock: systemClock });
  const moves = o.settings
    ? new ChatMoves({
        store,
        settings: o.settings,
        logger: o.logger,
        clock: systemClock,
        onChange: (moved) => health.setMovedChats(moved),
      })
    : undefined;
  const alertChat = o.defaultChatId ?? o.settings?.chatId ?? 'log';
  const outbox = new Outbox({
    store,
    sender: new FallbackSender({
      telegram: new TelegramSender({ token: o.token, apiRoot: o.apiRoot }),
      log: new LogSender(o.logger),
      health,
      clock: systemClock,
      // as main.ts: the alert chat's outcomes are the delivery health
      isAlertChat: (id) => (moves ? moves.resolve(alertChat) : alertChat) === id,
      logger: o.logger,
      ...(o.refusalBackoffMs !== undefined
        ? { retryBaseMs: o.refusalBackoffMs, retryMaxMs: o.refusalBackoffMs }
        : {}),
    }),
    settings: { maxSize: 100, perChatIntervalMs: 100, globalPerSecond: 25, coalesceWindowMs: 60_000 },
    defaultChatId: alertChat,
    logger: o.logger,
    clock: systemClock,
    baseBackoffMs: 100,
    maxBackoffMs: 500,
    ...(moves ? { chatMoves: moves } : {}),
  });
  if (o.start !== false) outbox.start();
  await moves?.start(outbox);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await outbox.close();
      await store.close().catch(() => undefined);
    })());
  return { store, outbox, health, moves, close };
}
