import { describe, expect, it } from 'vitest';
import { CloseCode, backoffDelay, decideClose } from './reconnect';

const half = () => 0.5;

describe('close codes', () => {
  it.each([
    [CloseCode.unauthenticated, { action: 'sign_in' }],
    [CloseCode.tokenExpired, { action: 'refresh_then_reconnect' }],
    [CloseCode.tooManyConnections, { action: 'stop', reason: 'too_many_connections' }],
    [CloseCode.messageTooBig, { action: 'stop', reason: 'client_bug' }],
    [CloseCode.restarting, { action: 'reconnect', delayMs: 250 }],
    [CloseCode.normal, { action: 'reconnect', delayMs: 375 }],
    [CloseCode.abnormal, { action: 'reconnect', delayMs: 375 }],
    [CloseCode.internal, { action: 'reconnect', delayMs: 375 }],
    [CloseCode.slowConsumer, { action: 'reconnect', delayMs: 375 }],
    [CloseCode.heartbeatTimeout, { action: 'reconnect', delayMs: 375 }],
  ])('close %i -> %o', (code, decision) => {
    expect(decideClose(code, 0, null, half)).toEqual(decision);
  });

  it('waits what a reconnect frame asked before coming back', () => {
    expect(decideClose(CloseCode.normal, 3, 2000, () => 0)).toEqual({
      action: 'reconnect',
      delayMs: 2000,
    });
  });
});

describe('backoff', () => {
  it('doubles per attempt up to the cap, with jitter in the upper half', () => {
    expect(backoffDelay(0, () => 0)).toBe(250);
    expect(backoffDelay(0, () => 1)).toBe(500);
    expect(backoffDelay(3, () => 0)).toBe(2000);
    expect(backoffDelay(3, () => 1)).toBe(4000);
    expect(backoffDelay(20, () => 1)).toBe(30_000);
    expect(backoffDelay(1000, () => 0)).toBe(15_000);
  });
});
