import assert from 'node:assert/strict';
import { hasAudience, rolesOf, userIdOf } from './claims.js';

describe('token claims', () => {
  it('accepts the audience from aud (string or array) or, without aud, from client_id', () => {
    assert.equal(hasAudience({ aud: 'emporium' }, 'emporium'), true);
    assert.equal(hasAudience({ aud: ['x', 'emporium'] }, 'emporium'), true);
    assert.equal(hasAudience({ client_id: 'emporium' }, 'emporium'), true);
    assert.equal(hasAudience({ aud: 'other', client_id: 'emporium' }, 'emporium'), false);
    assert.equal(hasAudience({ client_id: 'other' }, 'emporium'), false);
    assert.equal(hasAudience({}, 'emporium'), false);
  });

  it('maps roles from cognito:groups and roles, keeping only safe, lower-case names', () => {
    assert.deepEqual(rolesOf({ 'cognito:groups': ['admin', 'staff'] }), ['admin', 'staff']);
    assert.deepEqual(rolesOf({ roles: 'admin, staff' }), ['admin', 'staff']);
    assert.deepEqual(rolesOf({ roles: ['admin', 'a,b', 'x\ny', 3], 'cognito:groups': ['admin'] }), [
      'admin',
    ]);
    assert.deepEqual(rolesOf({}), []);
  });

  it('needs a path-safe subject', () => {
    assert.equal(userIdOf({ sub: 'alice', roles: ['admin'] }), 'alice');
    assert.equal(userIdOf({ sub: 'a\r\nx-user-roles: admin' }), null);
    assert.equal(userIdOf({ sub: '../carts/bob' }), null);
    assert.equal(userIdOf({}), null);
  });
});
