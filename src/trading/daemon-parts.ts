/**
 * What the trading daemon needs once a live start's first reads are on their way (daemon.ts requires this module
 * after sending them, not at the top): the state files, the event log, the TCP server, the engine. In the bundle
 * (scripts/bundle.ts) a module that is require()d runs on that call with what only it imports — their top level
 * (classes, the state's, events' and method parameters' zod schemas) — so the first requests leave before it, and it
 * runs while they travel.
 */
export { byninjaVersion } from '../ops/version';
export { EventLog } from '../shared/ipc/event-log';
export { IpcServer } from '../shared/ipc/server';
export { loadOrCreateIpcToken } from '../shared/ipc/token';
export { blockedMessage, readBlockedMarker } from '../shared/persistence/blocked-marker';
export { answerTimeoutsMs } from './control/answer-timeouts';
export { registerControlHandlers } from './control/handlers';
export { wireOrders } from './engine/orders/order-parts';
export { openTradingStateFiles } from './engine/state/state-files';
export { checkIdentity, describeIdentity } from './engine/state/state-identity';
export { STATE_STORE_NAME, isEmptyState } from './engine/state/trading-state';
export { unconfirmedNewState } from './engine/start/hidden-state';
export { KeyNoticeFile } from './engine/exchange-watch/key-notice-file';
export { KeyWatch } from './engine/exchange-watch/key-watch';
export { holdsAnything, openHoldings } from './engine/books/open-holdings';
export { TradingLoop } from './engine/trading-loop';
