// Both example domains in one application, each in a pool of its own
// (`orders`, `bank`). Built to dist/index.js, it is the module the
// container images run (REFRACT_CONFIG), since they carry no tsx.
import { composeApps } from '@refract/core';
import { bankApp } from '@refract/example-bank';
import { ordersApp } from '@refract/example-orders';

export default composeApps('examples', ordersApp, bankApp);
