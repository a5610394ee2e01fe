/** Durable state: crash-safe files, the lowdb-based Store for hot state, the single-writer lock, the Journal. */
export { writeFileDurable, type DurableFs, type WriteDurableOptions } from './durable-file';
export { DurableJsonAdapter, type Envelope, type DurableWriter } from './durable-json-adapter';
export { Store, type StoreOptions, type StoreOpenReport } from './store';
export { StoreLock, type LockRecord, type StoreLockOptions } from './lock';
export { Journal, type JournalOptions, type JournalOpenReport } from './journal';
export { type Migrations } from './migrate';
