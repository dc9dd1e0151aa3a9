/** The default page size of `GET /products`. */
export const DEFAULT_PAGE_SIZE = 20;

/** The largest page `GET /products` serves, and the most SKUs one batch lookup may name. */
export const MAX_PAGE_SIZE = 100;

/** A product search as the client asked for it. */
export interface ProductSearch {
  category?: string | undefined;
  q?: string | undefined;
  skus?: readonly string[] | undefined;
  limit?: number | undefined;
  offset: number;
}

/** A product search ready for the repository: blanks dropped, the page size settled. */
export interface ProductQuery {
  category?: string;
  /** The search text as typed (trimmed); the repository matches it literally. */
  text?: string;
  skus?: readonly string[];
  limit: number;
  offset: number;
}

/**
 * Settles a search. Blank `q`/`category` mean "no filter" (a cleared search box sends `q=`).
 * A batch lookup by SKUs without a limit gets a page as large as its list, so cart and orders
 * receive every product they named in one call instead of the first 20.
 */
export function resolveQuery(search: ProductSearch): ProductQuery {
  const text = search.q?.trim();
  const category = search.category?.trim();
  const skus = search.skus ? [...new Set(search.skus)] : undefined;
  const limit =
    search.limit ?? (skus ? Math.min(MAX_PAGE_SIZE, Math.max(skus.length, 1)) : DEFAULT_PAGE_SIZE);
  return {
    ...(category ? { category } : {}),
    ...(text ? { text } : {}),
    ...(skus ? { skus } : {}),
    limit,
    offset: search.offset,
  };
}

/**
 * Escapes a user's text for use inside a regular expression, so `(350 ml)` or `5$` match
 * literally and a crafted pattern cannot run a catastrophic backtracking search.
 */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
