export { type DevStackOptions, runDevStack } from './run.js';
