import { useEffect, useState, type ReactNode } from 'react';
import { api, ApiError, money, type Order, type OrderStatus } from '../api.js';
import { Empty, Failure, Link, Loading, PageTitle, Show, useResource } from '../ui.js';

const WORDS: Record<OrderStatus, string> = {
  PENDING: 'Placed, waiting for the payment',
  PAID: 'Paid, being packed',
  SHIPPED: 'Shipped',
  CANCELLED: 'Cancelled',
};
const FINAL: OrderStatus[] = ['SHIPPED', 'CANCELLED'];

/** The shopper's orders, newest first. */
export function OrdersPage(): ReactNode {
  const orders = useResource((signal) => api<{ items: Order[] }>('/api/orders', { signal }), []);
  return (
    <>
      <PageTitle>Your orders</PageTitle>
      <Show resource={orders} what="your orders">
        {({ items }) =>
          items.length === 0 ? (
            <Empty>
              You have no orders yet. <Link href="/">Browse the products</Link>.
            </Empty>
          ) : (
            <ul className="list">
              {[...items]
                .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
                .map((order) => (
                  <li key={order.orderId}>
                    <Link href={`/orders/${encodeURIComponent(order.orderId)}`}>
                      Order of {new Date(order.createdAt).toLocaleString('en')}
                    </Link>{' '}
                    — {money(order.totalMinor, order.currency)} — {WORDS[order.status]}
                  </li>
                ))}
            </ul>
          )
        }
      </Show>
    </>
  );
}

/** One order, followed until it is shipped or cancelled. */
export function OrderPage({ id }: { id: string }): ReactNode {
  const [order, setOrder] = useState<Order>();
  const [error, setError] = useState<Error>();
  const [round, setRound] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    let timer: number | undefined;
    let delay = 1000;
    const poll = async (): Promise<void> => {
      try {
        const next = await api<Order>(`/api/orders/${encodeURIComponent(id)}`, {
          signal: abort.signal,
        });
        setOrder(next);
        setError(undefined);
        if (FINAL.includes(next.status)) return;
      } catch (caught) {
        if (abort.signal.aborted) return;
        setError(caught instanceof Error ? caught : new Error(String(caught)));
        // A 404 stays a 404; a refusal or an outage is tried again, more slowly.
        if (caught instanceof ApiError && (caught.status === 404 || caught.status === 401)) return;
        delay = Math.min(delay * 2, 10_000);
      }
      timer = window.setTimeout(() => void poll(), delay);
    };
    void poll();
    return () => {
      abort.abort();
      window.clearTimeout(timer);
    };
  }, [id, round]);

  if (!order) {
    return (
      <>
        <PageTitle>Your order</PageTitle>
        {error ? (
          <Failure
            error={error}
            retry={() => {
              setRound((r) => r + 1);
            }}
          />
        ) : (
          <Loading what="your order" />
        )}
      </>
    );
  }
  const final = FINAL.includes(order.status);
  return (
    <>
      <PageTitle>Your order</PageTitle>
      <p className="muted">Order {order.orderId}</p>
      <p
        className={`order-status status-${order.status.toLowerCase()}`}
        role="status"
        aria-live="polite"
      >
        <strong>{WORDS[order.status]}</strong>
        {order.status === 'CANCELLED' && order.cancelReason ? `: ${order.cancelReason}` : null}
        {order.status === 'SHIPPED' && order.trackingId ? ` (tracking ${order.trackingId})` : null}
      </p>
      {!final ? <Loading what="the next step of your order" /> : null}
      {error ? <Failure error={error} /> : null}
      <h2>What you ordered</h2>
      <ul className="list">
        {order.lines.map((line) => (
          <li key={line.sku}>
            {line.quantity} × {line.name} at {money(line.unitPriceMinor, order.currency)}
          </li>
        ))}
      </ul>
      <p className="total">
        Total: <strong>{money(order.totalMinor, order.currency)}</strong>
      </p>
      <h2>History</h2>
      <ol className="list">
        {order.history.map((step) => (
          <li key={`${step.status}-${step.at}`}>
            {new Date(step.at).toLocaleString('en')}: {WORDS[step.status as OrderStatus]}
            {step.reason ? ` (${step.reason})` : ''}
          </li>
        ))}
      </ol>
      <p>
        <Link href="/orders">All your orders</Link>
      </p>
    </>
  );
}

/** What the store told the shopper about their orders. */
export function NotificationsPage(): ReactNode {
  const notes = useResource(
    (signal) =>
      api<{ items: { notificationId: string; orderId: string; message: string }[] }>(
        '/api/notifications',
        { signal },
      ),
    [],
  );
  return (
    <>
      <PageTitle>Notifications</PageTitle>
      <Show resource={notes} what="your notifications">
        {({ items }) =>
          items.length === 0 ? (
            <Empty>No notifications yet.</Empty>
          ) : (
            <ul className="list">
              {[...items].reverse().map((note) => (
                <li key={note.notificationId}>
                  {note.message}{' '}
                  <Link href={`/orders/${encodeURIComponent(note.orderId)}`}>See the order</Link>
                </li>
              ))}
            </ul>
          )
        }
      </Show>
    </>
  );
}
