export {
  dropVersion,
  type RebuildOptions,
  type RebuildProgress,
  type RebuildResult,
  rebuildProjection,
} from './rebuild.js';
