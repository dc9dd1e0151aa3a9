import { useState, type SyntheticEvent, type ReactNode } from 'react';
import { api, money, type ProductPage } from '../api.js';
import { navigate } from '../router.js';
import { Empty, Link, PageTitle, Show, useResource } from '../ui.js';

const PAGE_SIZE = 12;

/** The catalogue: a search, a page of products, and the way to the next page. */
export function CatalogPage({ query }: { query: URLSearchParams }): ReactNode {
  const q = query.get('q') ?? '';
  const page = Math.max(1, Number(query.get('page') ?? '1') || 1);
  const [text, setText] = useState(q);
  const products = useResource(
    (signal) => {
      const params = new URLSearchParams({
        limit: String(PAGE_SIZE),
        offset: String((page - 1) * PAGE_SIZE),
      });
      if (q) params.set('q', q);
      return api<ProductPage>(`/api/products?${params.toString()}`, { signal });
    },
    [q, page],
  );
  const go = (nextQ: string, nextPage: number): void => {
    const params = new URLSearchParams();
    if (nextQ) params.set('q', nextQ);
    if (nextPage > 1) params.set('page', String(nextPage));
    const search = params.toString();
    navigate(search ? `/?${search}` : '/');
  };
  const submit = (event: SyntheticEvent): void => {
    event.preventDefault();
    go(text.trim(), 1);
  };
  return (
    <>
      <PageTitle>{q ? `Results for “${q}”` : 'Products'}</PageTitle>
      <form role="search" className="search" onSubmit={submit}>
        <label htmlFor="search">Search products</label>
        <input
          id="search"
          type="search"
          value={text}
          maxLength={100}
          onChange={(event) => {
            setText(event.target.value);
          }}
        />
        <button type="submit">Search</button>
      </form>
      <Show resource={products} what="products">
        {(result) => {
          const pages = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
          if (result.items.length === 0) {
            return (
              <Empty>{q ? `No products match “${q}”.` : 'The shop has no products yet.'}</Empty>
            );
          }
          return (
            <>
              <p className="count">
                {result.total} {result.total === 1 ? 'product' : 'products'}
              </p>
              <ul className="grid" aria-label="Products">
                {result.items.map((product) => (
                  <li key={product.id} className="card">
                    <h2>
                      <Link href={`/products/${encodeURIComponent(product.id)}`}>
                        {product.name}
                      </Link>
                    </h2>
                    <p className="price">{money(product.priceMinor, product.currency)}</p>
                    <p className="muted">{product.categories.join(', ')}</p>
                  </li>
                ))}
              </ul>
              <nav className="pager" aria-label="Pages">
                <button
                  type="button"
                  disabled={page <= 1}
                  onClick={() => {
                    go(q, page - 1);
                  }}
                >
                  Previous page
                </button>
                <span aria-current="page">
                  Page {page} of {pages}
                </span>
                <button
                  type="button"
                  disabled={page >= pages}
                  onClick={() => {
                    go(q, page + 1);
                  }}
                >
                  Next page
                </button>
              </nav>
            </>
          );
        }}
      </Show>
    </>
  );
}
