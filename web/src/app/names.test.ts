import { describe, expect, it } from 'vitest';
import { deviceName } from './names';

describe('a device named from its user agent', () => {
  it('names the browser and the system', () => {
    const chrome =
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    const safari =
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
    expect(deviceName(chrome)).toBe('Chrome on Linux');
    expect(deviceName(safari)).toBe('Safari on iPhone');
    expect(deviceName('chat-ws/1.0')).toBe('chat-ws/1.0');
    expect(deviceName('')).toBe('Unknown device');
  });
});
