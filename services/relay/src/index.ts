export { runRelay } from './run.js';
