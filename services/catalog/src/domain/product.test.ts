import assert from 'node:assert/strict';
import { ProductUpdated, Sku } from '@emporium/contracts';
import { createProduct, ProductSchema, reviseProduct, type ProductDraft } from './product.js';
import { escapeRegExp, resolveQuery } from './product-query.js';
import { SEED_CATALOGUE, seedProducts } from './seed-catalogue.js';

const draft: ProductDraft = {
  sku: 'MUG-CER-350',
  name: '  Stoneware Mug  ',
  description: 'Speckled. ',
  priceMinor: 1450,
  currency: 'EUR',
  categories: ['mugs', 'homewares', 'mugs'],
  images: ['/images/MUG-CER-350.jpg'],
};
const created = new Date('2026-11-27T10:00:00Z');
const later = new Date('2026-11-27T11:00:00Z');

describe('product', () => {
  it('is created with a new id, normalised text and categories, stamped now', () => {
    const product = createProduct(draft, created);
    assert.match(product.id, /^[0-9a-f-]{36}$/);
    assert.notEqual(createProduct(draft, created).id, product.id);
    assert.equal(product.name, 'Stoneware Mug');
    assert.equal(product.description, 'Speckled.');
    assert.deepEqual(product.categories, ['mugs', 'homewares']);
    assert.equal(product.updatedAt, '2026-11-27T10:00:00.000Z');
    assert.deepEqual(ProductSchema.parse(product), product);
  });

  it('is revised by a full replacement with the same or no SKU', () => {
    const product = createProduct(draft, created);
    const { sku: _sku, ...changes } = { ...draft, priceMinor: 1290 };
    const revised = reviseProduct(product, changes, later);
    assert.equal(revised.kind, 'revised');
    assert.equal(revised.product.id, product.id);
    assert.equal(revised.product.sku, 'MUG-CER-350');
    assert.equal(revised.product.priceMinor, 1290);
    assert.equal(revised.product.updatedAt, later.toISOString());
    assert.equal(reviseProduct(product, { ...draft, name: 'Mug' }, later).kind, 'revised');
  });

  it('an identical replacement is no change and keeps the old timestamp', () => {
    const product = createProduct(draft, created);
    const revision = reviseProduct(product, draft, later);
    assert.equal(revision.kind, 'unchanged');
    assert.equal(revision.product.updatedAt, created.toISOString());
  });

  it('refuses to change the SKU', () => {
    const product = createProduct(draft, created);
    assert.deepEqual(reviseProduct(product, { ...draft, sku: 'MUG-CER-400' }, later), {
      kind: 'sku-changed',
      current: 'MUG-CER-350',
      requested: 'MUG-CER-400',
    });
  });
});

describe('product search', () => {
  it('defaults the page to 20, or to the number of SKUs of a batch lookup', () => {
    assert.deepEqual(resolveQuery({ offset: 0 }), { limit: 20, offset: 0 });
    assert.deepEqual(resolveQuery({ offset: 5, limit: 7, q: '  mug ', category: 'mugs' }), {
      category: 'mugs',
      text: 'mug',
      limit: 7,
      offset: 5,
    });
    const skus = Array.from({ length: 30 }, (_, i) => `SKU-${String(i)}`);
    assert.equal(resolveQuery({ offset: 0, skus }).limit, 30);
    assert.deepEqual(resolveQuery({ offset: 0, skus: ['A-1', 'A-1'] }).skus, ['A-1']);
    assert.equal(resolveQuery({ offset: 0, skus, limit: 5 }).limit, 5);
  });

  it('treats a blank search or category as none', () => {
    assert.deepEqual(resolveQuery({ offset: 0, q: '  ', category: '' }), { limit: 20, offset: 0 });
  });

  it('escapes regular expression syntax so text matches literally', () => {
    const text = 'Mug (350 ml) 5$ a+b [x] ^.*?|{2}\\';
    const pattern = new RegExp(escapeRegExp(text), 'i');
    assert.ok(pattern.test(`A ${text.toUpperCase()} B`.toLowerCase()));
    assert.equal(new RegExp(escapeRegExp('a.c')).test('abc'), false);
  });
});

describe('seed catalogue', () => {
  it('holds about fifty valid EUR products with unique SKUs and their images', () => {
    const products = seedProducts(created);
    assert.ok(products.length >= 45 && products.length <= 55, String(products.length));
    assert.equal(new Set(SEED_CATALOGUE.map((p) => p.sku)).size, SEED_CATALOGUE.length);
    assert.equal(new Set(products.map((p) => p.id)).size, products.length);
    for (const product of products) {
      assert.deepEqual(ProductSchema.parse(product), product);
      assert.ok(Sku.safeParse(product.sku).success, product.sku);
      assert.equal(product.currency, 'EUR');
      assert.deepEqual(product.images, [`/images/${product.sku}.jpg`]);
      assert.ok(product.categories.length > 0 && product.description.length > 20, product.sku);
      // Every seeded product must be announceable, or inventory would never open its stock.
      assert.ok(
        ProductUpdated.schema.safeParse({ ...product, productId: product.id }).success,
        product.sku,
      );
    }
    const categories = new Set(products.flatMap((p) => p.categories));
    for (const category of ['coffee', 'homewares', 'stationery'])
      assert.ok(categories.has(category));
  });
});
