import { describe, expect, it } from 'vitest';
import { matchHotRoute, type HotRoutes } from './router';

const h = async () => 200;
const routes: HotRoutes = { decideGet: h, decidePost: h, ofrepFlag: h, ofrepBulk: h };
const m = (method: string, path: string) => {
  const r = matchHotRoute(routes, method, path);
  return r === null ? null : [r.route, r.param];
};

describe('matchHotRoute', () => {
  it('matches the hot routes', () => {
    expect(m('GET', '/v1/decide')).toEqual(['decide_get', '']);
    expect(m('POST', '/v1/decide')).toEqual(['decide_post', '']);
    expect(m('POST', '/ofrep/v1/evaluate/flags')).toEqual(['ofrep_bulk', '']);
    expect(m('POST', '/ofrep/v1/evaluate/flags/')).toEqual(['ofrep_bulk', '']);
    expect(m('POST', '/ofrep/v1/evaluate/flags/my%20flag')).toEqual(['ofrep_flag', 'my%20flag']);
  });
  it('leaves everything else to express', () => {
    expect(m('PUT', '/v1/decide')).toBeNull();
    expect(m('GET', '/v1/decide/x')).toBeNull();
    expect(m('GET', '/ofrep/v1/evaluate/flags/x')).toBeNull();
    expect(m('POST', '/ofrep/v1/evaluate/flagsx')).toBeNull();
    expect(m('POST', '/ofrep/v1/evaluate/flags/a/b')).toBeNull();
    expect(m('GET', '/decide/health')).toBeNull();
  });
});
