// Reactions under a message: one chip per emoji with its count, pressed when the reader
// gave it (a click gives or takes it back), and a picker of common emoji to add one.
// Counts change live as the room's `reaction.*` events arrive.

import type { MessageView, ReactionView } from '@protocol';
import { useMutation } from '@tanstack/react-query';
import { addReaction, removeReaction } from '../api/messages';
import { showNotice } from '../app/ui-state';
import { formProblem } from './forms';
import { Menu } from './Menu';

/** What the picker offers. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀'] as const;

function useToggle(message: MessageView) {
  return useMutation({
    mutationFn: ({ emoji, add }: { emoji: string; add: boolean }) =>
      add ? addReaction(message.id, emoji) : removeReaction(message.id, emoji),
    onError: (error) => showNotice(`Could not react: ${formProblem(error).message}`),
  });
}

function chipLabel(reaction: ReactionView): string {
  const people = reaction.count === 1 ? '1 person' : `${reaction.count} people`;
  return `${reaction.emoji} ${people}${reaction.me ? ', including you' : ''}`;
}

/** The chips of a message that has reactions. */
export function ReactionBar({ message }: { message: MessageView }) {
  const toggle = useToggle(message);
  if (message.reactions.length === 0) return null;
  return (
    <ul className="reactions" aria-label="Reactions">
      {message.reactions.map((reaction) => (
        <li key={reaction.emoji}>
          <button
            type="button"
            className="reaction"
            aria-pressed={reaction.me}
            aria-label={chipLabel(reaction)}
            title={reaction.me ? 'Take your reaction back' : 'React with this too'}
            disabled={toggle.isPending}
            onClick={() => toggle.mutate({ emoji: reaction.emoji, add: !reaction.me })}
          >
            <span aria-hidden="true">{reaction.emoji}</span>
            <span className="reaction-count" aria-hidden="true">
              {reaction.count}
            </span>
          </button>
        </li>
      ))}
    </ul>
  );
}

/** The "add reaction" button and its picker. */
export function ReactionPicker({ message }: { message: MessageView }) {
  const toggle = useToggle(message);
  const given = new Set(message.reactions.filter((r) => r.me).map((r) => r.emoji));
  return (
    <Menu button="☺" buttonClass="icon-button" label="Add reaction" labelButton className="reaction-picker">
      <div className="reaction-choices">
        {QUICK_REACTIONS.map((emoji) => (
          <button
            key={emoji}
            type="button"
            className="reaction-choice"
            aria-label={`React with ${emoji}`}
            aria-pressed={given.has(emoji)}
            onClick={() => toggle.mutate({ emoji, add: !given.has(emoji) })}
          >
            {emoji}
          </button>
        ))}
      </div>
    </Menu>
  );
}
