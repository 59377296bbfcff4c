export {
  type AccountCommand,
  type AccountState,
  type AccountStatus,
  accountDecider,
  accountOf,
  type CloseAccount,
  type Deposit,
  type OpenAccount,
  type Transfer,
  type Withdraw,
} from './account-decider.js';
export { bankApp } from './app.js';
export { bankCommandFor, bankDemo } from './bank-demo.js';
export {
  BANK_WORKLOAD_DEFAULT_OPEN_ACCOUNTS,
  BANK_WORKLOAD_DEFAULT_SEED,
  type BankHistoryOptions,
  type BankWorkloadEvent,
  type BankWorkloadOptions,
  bankHistory,
  eventIdOf,
  generateBankWorkload,
  type IdentifiedBankEvent,
} from './bank-workload.js';
export {
  ACCOUNT_ID_PATTERN,
  bankCommands,
  closeAccountRoute,
  depositRoute,
  openAccountRoute,
  transferRoute,
  withdrawRoute,
} from './commands.js';
export {
  accountClosed,
  accountOpened,
  accountStreamId,
  BANK_EVENT_TYPES,
  type BankEvent,
  type BankEventType,
  bankEventTypes,
  moneyDeposited,
  moneyWithdrawn,
  streamAccountOf,
  transferSent,
} from './event-types.js';
export {
  type ExpectedAccount,
  type ExpectedBankReadModels,
  expectedBankReadModels,
} from './expected-bank-read-models.js';
export {
  type AccountChange,
  accountBalancesProjection,
  foldAccountChanges,
} from './projections/account-balances.js';
export {
  BANK_ACTIVITY_FIELDS,
  type BankActivity,
  type BankActivityField,
  bankActivityIncrements,
  bankActivityProjection,
} from './projections/bank-activity.js';
export { type SeededRng, seededRng } from './seeded-rng.js';
