// Files chosen for the next message: each uploads as soon as it is chosen (picked, dropped
// or pasted), shows its progress, and is sent with the message once uploaded.

import type { FileView } from '@protocol';
import { useCallback, useState } from 'react';
import { ApiError } from '../api/client';
import { sizeLabel, uploadFile } from '../api/files';
import { useFileUrl } from '../api/queries';

/** Most files one message carries (the server's limit). */
export const MAX_FILES = 10;

export interface DraftFile {
  key: string;
  name: string;
  size: number;
  state: 'uploading' | 'ready' | 'failed';
  file: FileView | null;
  error: string | null;
}

function uploadError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'file_too_large') return 'too large';
    if (error.code === 'image_too_large') return 'picture too large';
    if (error.code === 'invalid_image') return 'not a readable picture';
    return error.message;
  }
  return 'upload failed';
}

/** The files of the draft and what changes them. */
export function useDraftFiles() {
  const [files, setFiles] = useState<DraftFile[]>([]);
  const [refused, setRefused] = useState<string | null>(null);

  const update = (key: string, change: Partial<DraftFile>) =>
    setFiles((all) => all.map((f) => (f.key === key ? { ...f, ...change } : f)));

  const add = useCallback(
    (chosen: readonly File[]) => {
      const room = MAX_FILES - files.length;
      setRefused(chosen.length > room ? `A message carries at most ${MAX_FILES} files.` : null);
      for (const file of chosen.slice(0, Math.max(room, 0))) {
        const key = crypto.randomUUID();
        setFiles((all) => [
          ...all,
          { key, name: file.name || 'file', size: file.size, state: 'uploading', file: null, error: null },
        ]);
        uploadFile(file).then(
          (view) => update(key, { state: 'ready', file: view }),
          (error: unknown) => update(key, { state: 'failed', error: uploadError(error) }),
        );
      }
    },
    [files.length],
  );

  const remove = (key: string) => {
    setRefused(null);
    setFiles((all) => all.filter((f) => f.key !== key));
  };
  const clear = () => {
    setRefused(null);
    setFiles([]);
  };
  const ready = files.flatMap((f) => (f.state === 'ready' && f.file ? [f.file] : []));
  const busy = files.some((f) => f.state === 'uploading');
  const failed = files.some((f) => f.state === 'failed');
  return { files, ready, busy, failed, refused, add, remove, clear };
}

export function DraftFileList({
  files,
  refused,
  onRemove,
}: {
  files: readonly DraftFile[];
  refused: string | null;
  onRemove: (key: string) => void;
}) {
  if (!files.length && !refused) return null;
  return (
    <div className="draft-files">
      <ul aria-label="Files to send">
        {files.map((file) => (
          <li key={file.key} className={`draft-file ${file.state}`}>
            <DraftPreview file={file} />
            <span className="file-text">
              <span className="file-name">{file.name}</span>
              <span className={file.state === 'failed' ? 'error' : 'muted'}>
                {file.state === 'uploading'
                  ? 'Uploading…'
                  : file.state === 'failed'
                    ? `Not uploaded: ${file.error}`
                    : sizeLabel(file.file?.size ?? file.size)}
              </span>
            </span>
            <button
              type="button"
              className="icon-button"
              aria-label={`Remove ${file.name}`}
              onClick={() => onRemove(file.key)}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
      {refused && (
        <p className="composer-help error" role="alert">
          {refused}
        </p>
      )}
    </div>
  );
}

function DraftPreview({ file }: { file: DraftFile }) {
  const { data: src } = useFileUrl(file.file?.thumbnail?.url);
  if (src) return <img className="draft-thumbnail" src={src} alt="" />;
  return (
    <span className="file-icon" aria-hidden="true">
      {file.state === 'uploading' ? '⏳' : '📄'}
    </span>
  );
}
