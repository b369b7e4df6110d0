// What a person can do to one message in the timeline: edit their own in place, delete
// their own (or anyone's as a room admin or owner) after a confirmation, and read the
// earlier versions of an edited message. The room hears each change live.

import type { MessageView } from '@protocol';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { deleteMessage, editMessage, listRevisions } from '../api/messages';
import type { MessageActions } from '../app/permissions';
import { timeLabel } from '../time';
import { Dialog } from './Dialog';
import { DialogActions, FormError, formProblem } from './forms';
import { Menu } from './Menu';

interface MenuProps {
  message: MessageView;
  actions: MessageActions;
  onEdit: () => void;
}

/** The ⋯ menu of a message, with the delete confirmation. */
export function MessageMenu({ message, actions, onEdit }: MenuProps) {
  const [confirming, setConfirming] = useState(false);
  const remove = useMutation({
    mutationFn: () => deleteMessage(message.id),
    onSuccess: () => setConfirming(false),
  });
  return (
    <>
      <Menu button="⋯" buttonClass="icon-button" label="Message actions" labelButton className="message-menu">
        {actions.edit && (
          <button type="button" className="menu-item" onClick={onEdit}>
            Edit
          </button>
        )}
        {actions.delete && (
          <button type="button" className="menu-item danger-text" onClick={() => setConfirming(true)}>
            Delete…
          </button>
        )}
      </Menu>
      <Dialog open={confirming} title="Delete this message?" onClose={() => setConfirming(false)}>
        <p>Everyone in the room will see that a message was deleted, but not what it said. This cannot be undone.</p>
        <blockquote className="quoted">{message.content}</blockquote>
        <FormError message={formProblem(remove.error).message} />
        <DialogActions
          onCancel={() => setConfirming(false)}
          label="Delete"
          busyLabel="Deleting…"
          busy={remove.isPending}
          tone="danger"
          onAction={() => remove.mutate()}
        />
      </Dialog>
    </>
  );
}

interface EditorProps {
  message: MessageView;
  maxChars: number;
  onDone: () => void;
}

/** The message's text, editable in place: Enter saves, Escape (or Cancel) leaves it. */
export function MessageEditor({ message, maxChars, onDone }: EditorProps) {
  const [text, setText] = useState(message.content);
  const field = useRef<HTMLTextAreaElement>(null);
  const save = useMutation({
    mutationFn: (content: string) => editMessage(message.id, content),
    onSuccess: onDone,
  });
  useEffect(() => {
    const input = field.current;
    if (!input) return;
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }, []);
  const blank = text.trim() === '';
  const tooLong = [...text].length > maxChars;
  const submit = () => {
    if (blank || tooLong || save.isPending) return;
    if (text === message.content) return onDone();
    save.mutate(text);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      onDone();
    }
  };
  return (
    <form
      className="message-editor"
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <textarea
        ref={field}
        aria-label="Edit message"
        value={text}
        rows={Math.min(8, text.split('\n').length + 1)}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={onKeyDown}
      />
      {tooLong && <p className="field-error">At most {maxChars.toLocaleString()} characters.</p>}
      <FormError message={formProblem(save.error).message} />
      <div className="message-editor-actions">
        <span className="muted">Enter to save · Escape to cancel</span>
        <button type="button" className="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="button primary" disabled={blank || tooLong || save.isPending}>
          {save.isPending ? 'Saving…' : 'Save'}
        </button>
      </div>
    </form>
  );
}

/** "(edited)", which opens the message's earlier versions. */
export function EditedMark({ message }: { message: MessageView }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      {' '}
      <button
        type="button"
        className="link-button muted edited"
        title={message.edited_at ? `Edited ${new Date(message.edited_at).toLocaleString()}` : undefined}
        onClick={() => setOpen(true)}
      >
        (edited)
      </button>
      <Dialog open={open} title="Edit history" onClose={() => setOpen(false)}>
        <Revisions message={message} />
      </Dialog>
    </>
  );
}

function Revisions({ message }: { message: MessageView }) {
  const { data, error, isPending } = useQuery({
    queryKey: ['revisions', message.id, message.edited_at],
    queryFn: () => listRevisions(message.id),
  });
  if (isPending) return <p role="status">Loading…</p>;
  if (error) return <FormError message={formProblem(error).message} />;
  const revisions = [...data.revisions].reverse();
  return (
    <ol className="revisions">
      {revisions.map((revision, index) => (
        <li key={`${revision.epoch}:${revision.position}`}>
          <p className="muted revision-when">
            {index === 0 ? 'Current' : index === revisions.length - 1 ? 'Original' : 'Earlier edit'}
            {revision.at ? ` · ${timeLabel(revision.at)}` : ''}
          </p>
          <p className="message-body">{revision.content}</p>
        </li>
      ))}
    </ol>
  );
}
