export {
  type AppChoice,
  AppLoadError,
  chosenAppPath,
  configArgument,
  DEFAULT_CONFIG_FILES,
  loadApp,
  resolveAppPath,
} from './load-app.js';
