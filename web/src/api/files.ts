// /api/uploads and /api/files: files sent in messages, and the account's picture.

import type { FileView, Me } from '@protocol';
import { request, requestBlob } from './client';

/** Uploads a file to send in a message; it stays the user's own until a message carries it. */
export const uploadFile = (file: File) =>
  request<FileView>('POST', '/uploads', { raw: file, query: { name: file.name || 'file' } });

/** Makes `picture` the user's avatar (a square thumbnail of it). */
export const setAvatar = (picture: File) =>
  request<Me>('PUT', '/auth/me/avatar', { raw: picture, query: { name: picture.name || 'avatar' } });

/** A file's bytes (its `url` or `thumbnail.url`). */
export const fetchFile = (url: string, signal?: AbortSignal) => requestBlob(url, signal);

/** "1.2 MB", "640 KB", "12 bytes". */
export function sizeLabel(bytes: number): string {
  if (bytes < 1000) return bytes === 1 ? '1 byte' : `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
