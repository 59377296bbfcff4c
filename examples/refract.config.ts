// Both example domains in one stack, each in a pool of its own (`orders`,
// `bank`): `pnpm start --config examples/refract.config.ts`. The same module
// as the container images' built one (examples/all).
export { default } from '@refract/examples';
