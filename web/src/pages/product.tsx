import { useState, type ReactNode } from 'react';
import { api, money, type Cart, type ProductView } from '../api.js';
import { useApp } from '../session.js';
import { userAction } from '../tracing.js';
import { Failure, Link, PageTitle, Show, useResource } from '../ui.js';

/** One product: its details, its stock, and a quantity to put in the cart. */
export function ProductPage({ id }: { id: string }): ReactNode {
  const { session, announce } = useApp();
  const view = useResource(
    (signal) => api<ProductView>(`/api/products/${encodeURIComponent(id)}/page`, { signal }),
    [id],
  );
  const [quantity, setQuantity] = useState(1);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const add = async (sku: string, name: string): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await userAction('add to cart', (parent) =>
        api<Cart>(`/api/cart/lines/${encodeURIComponent(sku)}`, {
          method: 'PUT',
          body: { quantity },
          parent,
        }),
      );
      announce(`Added ${String(quantity)} × ${name} to your cart.`);
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Show resource={view} what="the product">
      {({ product, stock }) => (
        <article className="product">
          <PageTitle>{product.name}</PageTitle>
          <p className="price">{money(product.priceMinor, product.currency)}</p>
          <p>{product.description}</p>
          <p className="muted">SKU {product.sku}</p>
          <p className="stock">
            {stock === null
              ? 'Stock cannot be checked right now.'
              : stock.available > 0
                ? `${String(stock.available)} in stock`
                : 'Out of stock'}
          </p>
          {session ? (
            <div className="buy">
              <label htmlFor="quantity">Quantity</label>
              <input
                id="quantity"
                type="number"
                min={1}
                max={99}
                value={quantity}
                onChange={(event) => {
                  setQuantity(Math.min(99, Math.max(1, Number(event.target.value) || 1)));
                }}
              />
              <button
                type="button"
                disabled={busy || stock?.available === 0}
                onClick={() => void add(product.sku, product.name)}
              >
                {busy ? 'Adding…' : 'Add to cart'}
              </button>
            </div>
          ) : (
            <p>
              <Link href={`/signin?returnTo=${encodeURIComponent(window.location.pathname)}`}>
                Sign in
              </Link>{' '}
              to buy this product.
            </p>
          )}
          {error ? <Failure error={error} /> : null}
          <p>
            <Link href="/">Back to the products</Link>
          </p>
        </article>
      )}
    </Show>
  );
}
