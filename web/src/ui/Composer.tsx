// Writing a message: Enter sends, Shift+Enter starts a new line. Drafts are kept per room
// while the app is open.

import type { MessageView, RoomId, TypingState } from '@protocol';
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { TypingReporter } from '../live/typing';
import { UserName } from './UserName';

const drafts = new Map<string, string>();

/** Characters as the server counts them (Unicode scalar values, not UTF-16 units). */
export function characterCount(text: string): number {
  return Array.from(text).length;
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
  onSend: (content: string) => void;
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
  const content = messageContent(text);
  const length = characterCount(content);
  const tooLong = length > maxChars;
  const canSend = content.trim().length > 0 && !tooLong;

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
    onSend(content);
    reporter.current?.sent();
    change('');
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
    <form className="composer" onSubmit={onSubmit}>
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
