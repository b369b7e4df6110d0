import { describe, expect, it } from 'vitest';
import { isOwnImage } from './Avatar';

describe('which avatars are shown', () => {
  it('shows pictures of this site only', () => {
    const origin = 'https://chat.example.com';
    expect(isOwnImage('/api/files/abc/avatar', origin)).toBe(true);
    expect(isOwnImage('https://chat.example.com/a.png', origin)).toBe(true);
    expect(isOwnImage('https://tracker.example.net/a.png', origin)).toBe(false);
    expect(isOwnImage('http://chat.example.com/a.png', origin)).toBe(false);
    expect(isOwnImage(null, origin)).toBe(false);
    expect(isOwnImage('', origin)).toBe(false);
  });
});
