import { admin } from '@refract/contract';
import type { ContractApp } from '@refract/service-kit';
import type { OverviewHistory } from '../history.js';

/** `/api/history`: the samples admin kept, for a dashboard that opens mid-incident. */
export function registerHistoryRoute(app: ContractApp, history: OverviewHistory): void {
  const { history: route } = admin.adminRoutes;
  app.get(route.url, { schema: route.schema }, () => history.view());
}
