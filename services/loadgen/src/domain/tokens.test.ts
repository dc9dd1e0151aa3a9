import assert from 'node:assert/strict';
import { createTokenBook, DEFAULT_TOKEN_SECONDS, parseTokenAnswer } from './tokens.js';

describe('token book', () => {
  it('holds a token until a tenth of its lifetime is left, then asks for a new one', () => {
    const book = createTokenBook();
    assert.equal(book.get('alice', 0), undefined);
    book.put('alice', 'tok-1', 100, 1_000); // expires at 101 000 ms, renewed from 91 000
    assert.equal(book.get('alice', 1_000), 'tok-1');
    assert.equal(book.get('alice', 90_999), 'tok-1');
    assert.equal(book.get('alice', 91_000), undefined);
    assert.equal(book.get('bob', 1_000), undefined, 'tokens are per user');
  });

  it('renews a long-lived token one minute before it expires', () => {
    const book = createTokenBook();
    book.put('bob', 'tok', 3600, 0);
    assert.equal(book.get('bob', 3_539_999), 'tok');
    assert.equal(book.get('bob', 3_540_000), undefined);
  });

  it('forgets a token the gateway refused', () => {
    const book = createTokenBook();
    book.put('bob', 'tok', 3600, 0);
    book.forget('bob');
    assert.equal(book.get('bob', 1), undefined);
  });

  it('parses the issuer answer, defaulting a missing expires_in', () => {
    assert.deepEqual(parseTokenAnswer({ access_token: 'a.b.c', expires_in: 60 }), {
      token: 'a.b.c',
      expiresInSeconds: 60,
    });
    assert.deepEqual(parseTokenAnswer({ access_token: 'a.b.c' }), {
      token: 'a.b.c',
      expiresInSeconds: DEFAULT_TOKEN_SECONDS,
    });
    assert.equal(parseTokenAnswer({ token: 'x' }), undefined);
    assert.equal(parseTokenAnswer({ access_token: 'has space' }), undefined);
    assert.equal(parseTokenAnswer(undefined), undefined);
  });
});
