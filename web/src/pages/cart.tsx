import { useState, type ReactNode } from 'react';
import { api, money, type Cart } from '../api.js';
import { navigate } from '../router.js';
import { useApp } from '../session.js';
import { userAction } from '../tracing.js';
import { Empty, Failure, Link, PageTitle, Show, useResource } from '../ui.js';

/**
 * The Idempotency-Key of the checkout under way: made once and kept (this tab) until the
 * gateway accepted the order, so a retry after a lost answer places the same order, not a
 * second one.
 */
const CHECKOUT_KEY = 'emporium.checkout-key';

function checkoutKey(): string {
  let key = sessionStorage.getItem(CHECKOUT_KEY);
  if (!key) {
    key = crypto.randomUUID();
    sessionStorage.setItem(CHECKOUT_KEY, key);
  }
  return key;
}

/** The cart: lines with quantities to change or remove, the total, and the checkout. */
export function CartPage(): ReactNode {
  const { announce } = useApp();
  const cart = useResource((signal) => api<Cart>('/api/cart', { signal }), []);
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<Error>();

  const run = async (what: string, call: () => Promise<void>): Promise<void> => {
    setBusy(what);
    setError(undefined);
    try {
      await call();
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setBusy(undefined);
    }
  };
  const setQuantity = (sku: string, quantity: number): Promise<void> =>
    run(sku, async () => {
      const next = await userAction('change quantity', (parent) =>
        api<Cart>(`/api/cart/lines/${encodeURIComponent(sku)}`, {
          method: 'PUT',
          body: { quantity },
          parent,
        }),
      );
      cart.set(next);
      announce(`Quantity changed to ${String(quantity)}.`);
    });
  const remove = (sku: string, name: string): Promise<void> =>
    run(sku, async () => {
      const next = await userAction('remove from cart', (parent) =>
        api<Cart>(`/api/cart/lines/${encodeURIComponent(sku)}`, { method: 'DELETE', parent }),
      );
      cart.set(next);
      announce(`${name} removed from your cart.`);
    });
  const checkout = (): Promise<void> =>
    run('checkout', async () => {
      const accepted = await userAction('checkout', (parent) =>
        api<{ orderId: string }>('/api/orders', {
          method: 'POST',
          headers: { 'idempotency-key': checkoutKey() },
          parent,
        }),
      );
      sessionStorage.removeItem(CHECKOUT_KEY);
      announce('Order placed.');
      navigate(`/orders/${encodeURIComponent(accepted.orderId)}`);
    });

  return (
    <>
      <PageTitle>Your cart</PageTitle>
      <Show resource={cart} what="your cart">
        {(data) =>
          data.lines.length === 0 ? (
            <Empty>
              Your cart is empty. <Link href="/">Browse the products</Link>.
            </Empty>
          ) : (
            <>
              <table className="lines">
                <caption className="visually-hidden">Products in your cart</caption>
                <thead>
                  <tr>
                    <th scope="col">Product</th>
                    <th scope="col">Price</th>
                    <th scope="col">Quantity</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.lines.map((line) => (
                    <tr key={line.sku}>
                      <th scope="row">{line.name}</th>
                      <td>{money(line.unitPriceMinor, data.currency)}</td>
                      <td>
                        <label className="visually-hidden" htmlFor={`qty-${line.sku}`}>
                          Quantity of {line.name}
                        </label>
                        <select
                          id={`qty-${line.sku}`}
                          value={line.quantity}
                          disabled={busy !== undefined}
                          onChange={(event) =>
                            void setQuantity(line.sku, Number(event.target.value))
                          }
                        >
                          {Array.from({ length: Math.max(10, line.quantity) }, (_, i) => i + 1).map(
                            (n) => (
                              <option key={n} value={n}>
                                {n}
                              </option>
                            ),
                          )}
                        </select>
                      </td>
                      <td>
                        <button
                          type="button"
                          className="link"
                          disabled={busy !== undefined}
                          onClick={() => void remove(line.sku, line.name)}
                        >
                          Remove<span className="visually-hidden"> {line.name}</span>
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p className="total">
                Total: <strong>{money(data.totalMinor, data.currency)}</strong>
              </p>
              <button
                type="button"
                className="primary"
                disabled={busy !== undefined}
                onClick={() => void checkout()}
              >
                {busy === 'checkout' ? 'Placing your order…' : 'Place order'}
              </button>
            </>
          )
        }
      </Show>
      {error ? <Failure error={error} /> : null}
    </>
  );
}
