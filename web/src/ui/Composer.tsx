// Writing a message: Enter sends, Shift+Enter starts a new line. Drafts are kept per room
// while the app is open.

import type { RoomId } from '@protocol';
import { useId, useState, type FormEvent, type KeyboardEvent } from 'react';

const drafts = new Map<RoomId, string>();

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
}

export function Composer({ room, label, maxChars, onSend }: ComposerProps) {
  const [text, setText] = useState(() => drafts.get(room) ?? '');
  const id = useId();
  const content = messageContent(text);
  const length = characterCount(content);
  const tooLong = length > maxChars;
  const canSend = content.trim().length > 0 && !tooLong;

  const change = (value: string) => {
    setText(value);
    if (value) drafts.set(room, value);
    else drafts.delete(room);
  };

  const send = () => {
    if (!canSend) return;
    onSend(content);
    change('');
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    send();
  };

  return (
    <form className="composer" onSubmit={onSubmit}>
      <label htmlFor={id} className="visually-hidden">
        Message {label}
      </label>
      <textarea
        id={id}
        rows={1}
        value={text}
        placeholder={`Message ${label}`}
        aria-describedby={`${id}-help`}
        aria-invalid={tooLong || undefined}
        onChange={(event) => change(event.target.value)}
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
