// The files a message carries: images as thumbnails that open the picture, other files as
// cards with their name, size and a download button. Files need the access token, so
// their bytes are fetched and handed to the browser from memory.

import type { FileView } from '@protocol';
import { useState } from 'react';
import { fetchFile, sizeLabel } from '../api/files';
import { useFileUrl } from '../api/queries';

/** Saves `file` to the user's downloads under its name. */
async function download(file: FileView): Promise<void> {
  const blob = await fetchFile(file.url);
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = file.name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Opens an image at full size in a new tab. */
async function openImage(file: FileView): Promise<void> {
  // Opened before the fetch, while the click still counts as the user's: pop-up blockers.
  const tab = window.open('', '_blank');
  const blob = await fetchFile(file.url);
  const url = URL.createObjectURL(blob);
  if (tab) tab.location.href = url;
  else window.location.assign(url);
}

export function MessageAttachments({ files }: { files: readonly FileView[] }) {
  if (!files.length) return null;
  return (
    <div className="message-files">
      {files.map((file) =>
        file.kind === 'image' && file.thumbnail ? (
          <ImageAttachment key={file.id} file={file} />
        ) : (
          <FileCard key={file.id} file={file} />
        ),
      )}
    </div>
  );
}

function ImageAttachment({ file }: { file: FileView }) {
  const thumbnail = file.thumbnail!;
  const { data: src, isError } = useFileUrl(thumbnail.url);
  return (
    <button
      type="button"
      className="image-attachment"
      title={`${file.name} (${sizeLabel(file.size)})`}
      aria-label={`Open the picture ${file.name}`}
      onClick={() => void openImage(file)}
      style={{ aspectRatio: `${thumbnail.width} / ${thumbnail.height}`, width: Math.min(thumbnail.width, 320) }}
    >
      {src ? (
        <img src={src} alt={file.name} width={thumbnail.width} height={thumbnail.height} />
      ) : (
        <span className="muted">{isError ? 'Picture unavailable' : 'Loading…'}</span>
      )}
    </button>
  );
}

function FileCard({ file }: { file: FileView }) {
  const [state, setState] = useState<'idle' | 'busy' | 'failed'>('idle');
  const save = async () => {
    setState('busy');
    try {
      await download(file);
      setState('idle');
    } catch {
      setState('failed');
    }
  };
  return (
    <div className="file-card">
      <span className="file-icon" aria-hidden="true">
        📄
      </span>
      <span className="file-text">
        <span className="file-name">{file.name}</span>
        <span className="muted">
          {sizeLabel(file.size)}
          {state === 'failed' && <span className="error"> · download failed</span>}
        </span>
      </span>
      <button
        type="button"
        className="button"
        aria-label={`Download ${file.name}`}
        disabled={state === 'busy'}
        onClick={() => void save()}
      >
        {state === 'busy' ? 'Downloading…' : 'Download'}
      </button>
    </div>
  );
}
