import { defineDecider, RuleViolatedError } from '@refract/core';
import type { ItemAdded, OrderEvent } from './events.js';
import { formatMoney, parseMoney } from './money.js';

export type PlaceOrder = {
  type: 'PlaceOrder';
  orderId: string;
  customerId: string;
  /** ISO 8601 date-time. */
  placedAt: string;
};

export type AddItem = {
  type: 'AddItem';
  orderId: string;
  sku: string;
  qty: number;
  /** Decimal string, at most two decimals. */
  unitPrice: string;
};

export type ShipOrder = { type: 'ShipOrder'; orderId: string; trackingNumber: string };
export type CancelOrder = { type: 'CancelOrder'; orderId: string; reason: string };

export type OrderCommand = PlaceOrder | AddItem | ShipOrder | CancelOrder;

export type OrderStatus = 'none' | 'placed' | 'shipped' | 'cancelled';

/** Plain JSON (no Map, no Date, no bigint) because it is stored as a snapshot. */
export type OrderState = {
  status: OrderStatus;
  customerId: string | null;
  itemCount: number;
  totalCents: number;
};

export const MIN_ITEM_QTY = 1;
export const MAX_ITEM_QTY = 100;

function refuse(orderId: string, message: string): never {
  throw new RuleViolatedError(message, { orderId });
}

function requireOpen(command: AddItem | ShipOrder | CancelOrder, state: OrderState): void {
  const { orderId } = command;
  if (state.status === 'none') refuse(orderId, `order ${orderId} has not been placed`);
  if (state.status === 'shipped') refuse(orderId, `order ${orderId} has already been shipped`);
  if (state.status === 'cancelled') refuse(orderId, `order ${orderId} has been cancelled`);
}

function decideAddItem(command: AddItem, state: OrderState): ItemAdded {
  requireOpen(command, state);
  const { orderId, qty } = command;
  if (!Number.isInteger(qty) || qty < MIN_ITEM_QTY || qty > MAX_ITEM_QTY) {
    refuse(orderId, `qty must be a whole number from ${MIN_ITEM_QTY} to ${MAX_ITEM_QTY}`);
  }
  let unitCents: number;
  try {
    unitCents = parseMoney(command.unitPrice);
  } catch {
    refuse(orderId, 'unitPrice must be an amount with at most 2 decimal places');
  }
  if (unitCents <= 0) refuse(orderId, 'unitPrice must be greater than 0');
  // Totals stay exact only while they are safe integers.
  if (!Number.isSafeInteger(state.totalCents + qty * unitCents)) {
    refuse(orderId, `order ${orderId} total would exceed the largest supported amount`);
  }
  return {
    type: 'ItemAdded',
    // Stored events carry the canonical two-place form, whatever the caller wrote.
    data: { orderId, sku: command.sku, qty, unitPrice: formatMoney(unitCents) },
  };
}

export const orderDecider = defineDecider<OrderCommand, OrderEvent, OrderState>({
  name: 'order',
  initialState: () => ({ status: 'none', customerId: null, itemCount: 0, totalCents: 0 }),

  decide(command, state) {
    const { orderId } = command;
    switch (command.type) {
      case 'PlaceOrder':
        if (state.status !== 'none') refuse(orderId, `order ${orderId} has already been placed`);
        return [
          {
            type: 'OrderPlaced',
            data: { orderId, customerId: command.customerId, placedAt: command.placedAt },
          },
        ];
      case 'AddItem':
        return [decideAddItem(command, state)];
      case 'ShipOrder':
        requireOpen(command, state);
        if (state.itemCount === 0) refuse(orderId, `order ${orderId} has no items to ship`);
        return [
          { type: 'OrderShipped', data: { orderId, trackingNumber: command.trackingNumber } },
        ];
      case 'CancelOrder':
        requireOpen(command, state);
        return [{ type: 'OrderCancelled', data: { orderId, reason: command.reason } }];
      default:
        // Unreachable for typed callers; guards a route wired to the wrong decider.
        throw new Error(`order decider: unknown command ${(command as { type?: unknown }).type}`);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'OrderPlaced':
        return { ...state, status: 'placed', customerId: event.data.customerId };
      case 'ItemAdded':
        return {
          ...state,
          itemCount: state.itemCount + 1,
          totalCents: state.totalCents + event.data.qty * parseMoney(event.data.unitPrice),
        };
      case 'OrderShipped':
        return { ...state, status: 'shipped' };
      case 'OrderCancelled':
        return { ...state, status: 'cancelled' };
      default:
        // An event type this version does not know: deciding on a partial state would be wrong.
        throw new Error(`order decider: unknown event ${(event as { type?: unknown }).type}`);
    }
  },
});
