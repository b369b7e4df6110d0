// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { QueryClientProvider } from '@tanstack/react-query';
import { createQueryClient } from '../api/queries';
import { ROOM, message } from '../test/frames';
import { Composer, characterCount } from './Composer';

afterEach(cleanup);

function renderComposer(maxChars = 4000) {
  const onSend = vi.fn();
  render(<Composer room={ROOM} label="#general" maxChars={maxChars} onSend={onSend} />);
  return { onSend, box: screen.getByLabelText('Message #general') as HTMLTextAreaElement };
}

describe('the composer', () => {
  it('sends with Enter and clears', () => {
    const { onSend, box } = renderComposer();
    fireEvent.change(box, { target: { value: 'hello' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(onSend).toHaveBeenCalledWith('hello');
    expect(box.value).toBe('');
  });

  it('keeps Shift+Enter for a new line', () => {
    const { onSend, box } = renderComposer();
    fireEvent.change(box, { target: { value: 'line one' } });
    fireEvent.keyDown(box, { key: 'Enter', shiftKey: true });
    expect(onSend).not.toHaveBeenCalled();
  });

  it('sends with the button, and not when only whitespace', () => {
    const { onSend, box } = renderComposer();
    const button = screen.getByRole('button', { name: 'Send' }) as HTMLButtonElement;
    fireEvent.change(box, { target: { value: '   \n ' } });
    expect(button.disabled).toBe(true);
    fireEvent.change(box, { target: { value: 'two\nlines\n' } });
    fireEvent.click(button);
    expect(onSend).toHaveBeenCalledWith('two\nlines');
  });

  it('refuses more characters than the server takes, counted as the server counts', () => {
    const { onSend, box } = renderComposer(3);
    fireEvent.change(box, { target: { value: '😀😀😀' } });
    expect(characterCount('😀😀😀')).toBe(3);
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(onSend).toHaveBeenCalledWith('😀😀😀');
    fireEvent.change(box, { target: { value: 'four' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(onSend).toHaveBeenCalledTimes(1);
    expect(screen.getByText(/Too long: 4 of at most 3 characters/)).toBeTruthy();
  });
});

describe('replying', () => {
  it('shows what is answered, and Escape cancels it', () => {
    const onCancelReply = vi.fn();
    render(
      <QueryClientProvider client={createQueryClient()}>
        <Composer
          room={ROOM}
          label="#general"
          maxChars={4000}
          onSend={vi.fn()}
          replyTo={message(3, { content: 'Who brings the map?' })}
          onCancelReply={onCancelReply}
        />
      </QueryClientProvider>,
    );
    expect(screen.getByRole('status').textContent).toContain('Who brings the map?');
    const box = screen.getByLabelText('Message #general');
    expect(document.activeElement).toBe(box);
    fireEvent.keyDown(box, { key: 'Escape' });
    expect(onCancelReply).toHaveBeenCalled();
  });
});
