// The orders application as a production deployment loads it: built
// JavaScript, so the services measured carry no TypeScript loader.
export { ordersApp as default } from '@refract/example-orders';
