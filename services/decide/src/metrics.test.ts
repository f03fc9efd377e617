import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { decideMetrics } from './metrics';

describe('decide metrics', () => {
  it('exposes the latency histogram cumulatively per route and status class, and decisions by reason', async () => {
    const registry = new Registry();
    const m = decideMetrics(registry);
    m.observe('decide_get', 200, 0.0004);
    m.observe('decide_get', 204, 0.003);
    m.observe('decide_get', 200, 2);
    m.observe('ofrep_flag', 404, 0.02);
    m.decision('TARGETING_MATCH');
    m.decision('TARGETING_MATCH');
    m.decision('ERROR');
    const text = await registry.metrics();
    const line = (s: string) => text.split('\n').find((l) => l.startsWith(s));
    expect(line('tinycdp_decide_request_duration_seconds_bucket{le="0.0005",route="decide_get",status="2xx"}')).toMatch(/ 1$/);
    expect(line('tinycdp_decide_request_duration_seconds_bucket{le="0.002",route="decide_get",status="2xx"}')).toMatch(/ 1$/);
    expect(line('tinycdp_decide_request_duration_seconds_bucket{le="0.005",route="decide_get",status="2xx"}')).toMatch(/ 2$/);
    expect(line('tinycdp_decide_request_duration_seconds_bucket{le="1",route="decide_get",status="2xx"}')).toMatch(/ 2$/);
    expect(line('tinycdp_decide_request_duration_seconds_bucket{le="+Inf",route="decide_get",status="2xx"}')).toMatch(/ 3$/);
    expect(line('tinycdp_decide_request_duration_seconds_count{route="decide_get",status="2xx"}')).toMatch(/ 3$/);
    expect(line('tinycdp_decide_request_duration_seconds_sum{route="decide_get",status="2xx"}')).toMatch(/ 2\.0034$/);
    expect(line('tinycdp_decide_request_duration_seconds_count{route="ofrep_flag",status="4xx"}')).toMatch(/ 1$/);
    expect(text).toContain('# TYPE tinycdp_decide_request_duration_seconds histogram');
    expect(line('tinycdp_decide_decisions_total{reason="TARGETING_MATCH"}')).toMatch(/ 2$/);
    expect(line('tinycdp_decide_decisions_total{reason="ERROR"}')).toMatch(/ 1$/);
    expect(line('tinycdp_decide_decisions_total{reason="SPLIT"}')).toMatch(/ 0$/);
  });
});
