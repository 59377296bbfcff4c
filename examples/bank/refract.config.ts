// The application module of the bank example: `pnpm start --config examples/bank/refract.config.ts`.
import { bankApp } from '@refract/example-bank';

export default bankApp;
