// Writing a message: Enter sends, Shift+Enter starts a new line; files are attached with
// the paperclip, by dropping them on the box or by pasting. Drafts are kept per room while
// the app is open.

import type { FileView, MessageView, RoomId, TypingState } from '@protocol';
import {
  useEffect,
  useId,
  useRef,
  useState,
  type ClipboardEvent,
  type DragEvent,
  type FormEvent,
  type KeyboardEvent,
} from 'react';
import { TypingReporter } from '../live/typing';
import { DraftFileList, useDraftFiles } from './DraftFiles';
import { UserName } from './UserName';

const drafts = new Map<string, string>();

/** Characters as the server counts them (Unicode scalar values, not UTF-16 units). */
export function characterCount(text: string): number {
  return Array.from(text).length;
}

/** Whitespace and the characters that show nothing on their own (as the server counts them). */
const INVISIBLE = /[\s\u00AD\u034F\u115F\u1160\u180E\u200B-\u200D\u2060-\u2064\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/gu;

/** Whether `text` shows anything: not only spaces, zero-width characters and the like. */
export function showsSomething(text: string): boolean {
  return text.replace(INVISIBLE, '').length > 0;
}

/** What is sent: the text without blank lines or spaces around it. */
export function messageContent(text: string): string {
  return text.replace(/^\s*\n/, '').trimEnd();
}

interface ComposerProps {
  room: RoomId;
  /** Who the message goes to, e.g. "#general" or "Ada". */
  label: string;
  maxChars: number;
  onSend: (content: string, attachments: FileView[]) => void;
  /** Tells the room the user is (or stopped) writing. */
  onTyping?: (state: TypingState) => void;
  /** How often `start` is repeated while the user writes. */
  typingRenewMs?: number;
  /** The message the next send answers, shown above the box. */
  replyTo?: MessageView | null;
  onCancelReply?: () => void;
  /** Where the draft is kept (default: the room's). */
  draftKey?: string;
}

export function Composer({
  room,
  label,
  maxChars,
  onSend,
  onTyping,
  typingRenewMs = 3_000,
  replyTo = null,
  onCancelReply,
  draftKey = room,
}: ComposerProps) {
  const [text, setText] = useState(() => drafts.get(draftKey) ?? '');
  const id = useId();
  const box = useRef<HTMLTextAreaElement>(null);
  // Choosing a message to answer puts the cursor where the answer goes.
  useEffect(() => {
    if (replyTo) box.current?.focus();
  }, [replyTo]);
  const renew = useRef(typingRenewMs);
  renew.current = typingRenewMs;
  const reporter = useRef<TypingReporter | null>(null);
  reporter.current ??= new TypingReporter(() => renew.current);
  const report = useRef(onTyping);
  report.current = onTyping;

  // Leaving the room (or the page) ends the user's typing there.
  useEffect(
    () => () => {
      const state = reporter.current?.stopped();
      if (state) report.current?.(state);
    },
    [],
  );
  const files = useDraftFiles();
  const picker = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const content = messageContent(text);
  const length = characterCount(content);
  const tooLong = length > maxChars;
  const hasText = showsSomething(content);
  const canSend = (hasText || files.ready.length > 0) && !tooLong && !files.busy && !files.failed;

  const change = (value: string) => {
    setText(value);
    if (value) drafts.set(draftKey, value);
    else drafts.delete(draftKey);
  };

  const edit = (value: string) => {
    change(value);
    const state = reporter.current?.changed(value, Date.now());
    if (state) onTyping?.(state);
  };

  const send = () => {
    if (!canSend) return;
    onSend(hasText ? content : '', files.ready);
    reporter.current?.sent();
    change('');
    files.clear();
  };

  const onDrop = (event: DragEvent) => {
    if (!event.dataTransfer.files.length) return;
    event.preventDefault();
    setDragging(false);
    files.add(Array.from(event.dataTransfer.files));
  };

  const onPaste = (event: ClipboardEvent) => {
    if (!event.clipboardData.files.length) return;
    event.preventDefault();
    files.add(Array.from(event.clipboardData.files));
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    } else if (event.key === 'Escape' && replyTo) {
      event.preventDefault();
      onCancelReply?.();
    }
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    send();
  };

  return (
    <form
      className={dragging ? 'composer dragging' : 'composer'}
      onSubmit={onSubmit}
      onDragOver={(event) => {
        if (!event.dataTransfer.types.includes('Files')) return;
        event.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      {replyTo && (
        <div className="composer-reply" role="status">
          <span>
            Replying to <UserName id={replyTo.sender_id} />:{' '}
            <span className="muted">{replyTo.content.slice(0, 100)}</span>
          </span>
          <button type="button" className="icon-button" aria-label="Cancel the reply" onClick={onCancelReply}>
            ×
          </button>
        </div>
      )}
      <DraftFileList files={files.files} refused={files.refused} onRemove={files.remove} />
      <button
        type="button"
        className="icon-button attach-button"
        aria-label="Attach files"
        title="Attach files"
        onClick={() => picker.current?.click()}
      >
        📎
      </button>
      <input
        ref={picker}
        type="file"
        multiple
        hidden
        data-testid="attach-input"
        onChange={(event) => {
          files.add(Array.from(event.target.files ?? []));
          event.target.value = '';
        }}
      />
      <label htmlFor={id} className="visually-hidden">
        Message {label}
      </label>
      <textarea
        ref={box}
        id={id}
        rows={1}
        value={text}
        placeholder={`Message ${label}`}
        aria-describedby={`${id}-help`}
        aria-invalid={tooLong || undefined}
        onChange={(event) => edit(event.target.value)}
        onKeyDown={onKeyDown}
        onPaste={onPaste}
      />
      <button type="submit" className="button primary" disabled={!canSend}>
        Send
      </button>
      <p id={`${id}-help`} className={tooLong ? 'composer-help error' : 'composer-help visually-hidden'}>
        {tooLong
          ? `Too long: ${length} of at most ${maxChars} characters.`
          : 'Enter to send, Shift+Enter for a new line.'}
      </p>
    </form>
  );
}
