import { z } from 'zod';

const page = z.object({ items: z.array(z.object({ id: z.string() })).min(1) });

/** The id of a product catalog serves (the seeded demo catalogue's first). */
export async function firstProductId(catalogUrl: string): Promise<string> {
  const response = await fetch(`${catalogUrl}/products?limit=1`);
  if (!response.ok) throw new Error(`${catalogUrl}/products answered ${String(response.status)}`);
  const [first] = page.parse(await response.json()).items;
  if (!first) throw new Error(`${catalogUrl} has no products`);
  return first.id;
}

/** GETs `url` until it answers 200 (the first read of a product fills the Redis cache). */
export async function expectOk(url: string): Promise<void> {
  const response = await fetch(url);
  await response.body?.cancel();
  if (!response.ok) throw new Error(`${url} answered ${String(response.status)}`);
}
