import { defineApp } from '@refract/core';
import { bankDemo } from './bank-demo.js';
import { bankCommands } from './commands.js';
import { bankEventTypes } from './event-types.js';
import { accountBalancesProjection } from './projections/account-balances.js';
import { bankActivityProjection } from './projections/bank-activity.js';

/** The bank application: what `refract.config.ts` exports and every service loads. */
export const bankApp = defineApp({
  name: 'bank',
  events: bankEventTypes,
  commands: bankCommands,
  projections: [accountBalancesProjection, bankActivityProjection],
  pools: { bank: ['account_balances', 'bank_activity'] },
  demo: bankDemo,
});
