// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { QueryClientProvider } from '@tanstack/react-query';
import { createQueryClient } from '../api/queries';
import { ROOM, message } from '../test/frames';
import { Composer, characterCount, showsSomething } from './Composer';

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
    expect(onSend).toHaveBeenCalledWith('hello', []);
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
    expect(onSend).toHaveBeenCalledWith('two\nlines', []);
  });

  it('refuses more characters than the server takes, counted as the server counts', () => {
    const { onSend, box } = renderComposer(3);
    fireEvent.change(box, { target: { value: '😀😀😀' } });
    expect(characterCount('😀😀😀')).toBe(3);
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(onSend).toHaveBeenCalledWith('😀😀😀', []);
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

  it('uploads a chosen file at once and sends it, text optional, once uploaded', async () => {
    let answer: (value: Response) => void = () => {};
    // Only the upload is answered (when the test says so); a query left over from an
    // earlier test may call too.
    const fetch = vi.fn((url: string) =>
      url.startsWith('/api/uploads')
        ? new Promise<Response>((resolve) => (answer = resolve))
        : Promise.reject(new TypeError('offline')),
    );
    vi.stubGlobal('fetch', fetch);
    const onSend = vi.fn();
    render(
      <QueryClientProvider client={createQueryClient()}>
        <Composer room={ROOM} label="#general" maxChars={4000} onSend={onSend} />
      </QueryClientProvider>,
    );
    // Drafts outlive a composer: start from an empty one.
    fireEvent.change(screen.getByLabelText('Message #general'), { target: { value: '' } });
    const send = screen.getByRole('button', { name: 'Send' }) as HTMLButtonElement;
    const notes = new File(['milk, eggs'], 'notes.txt', { type: 'text/plain' });

    fireEvent.change(screen.getByTestId('attach-input'), { target: { files: [notes] } });
    expect(await screen.findByText('Uploading…')).toBeTruthy();
    expect(send.disabled).toBe(true);
    const [url, init] = fetch.mock.calls.find(([url]) => url.startsWith('/api/uploads')) as unknown as [
      string,
      RequestInit,
    ];
    expect(url).toBe('/api/uploads?name=notes.txt');
    expect(init.body).toBe(notes);
    const view = {
      id: '0193a6c1-0000-7000-8000-0000000000f1',
      name: 'notes.txt',
      size: 10,
      content_type: 'text/plain',
      kind: 'file',
      url: '/api/files/0193a6c1-0000-7000-8000-0000000000f1',
    };
    answer(new Response(JSON.stringify(view), { status: 201 }));
    await waitFor(() => expect(send.disabled).toBe(false));
    fireEvent.click(send);

    expect(onSend).toHaveBeenCalledWith('', [view]);
    expect(screen.queryByText('notes.txt')).toBeNull();
    vi.unstubAllGlobals();
  });

  it('shows an upload the server refused, and does not send until it is removed', async () => {
    const refusal = { error: { code: 'file_too_large', message: 'at most 25 MB' } };
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify(refusal), { status: 413 })));
    render(
      <QueryClientProvider client={createQueryClient()}>
        <Composer room={ROOM} label="#general" maxChars={4000} onSend={vi.fn()} />
      </QueryClientProvider>,
    );
    const big = new File(['x'], 'big.iso');
    fireEvent.change(screen.getByTestId('attach-input'), { target: { files: [big] } });
    fireEvent.change(screen.getByLabelText('Message #general'), { target: { value: 'here it is' } });

    expect(await screen.findByText('Not uploaded: too large')).toBeTruthy();
    const send = screen.getByRole('button', { name: 'Send' }) as HTMLButtonElement;
    expect(send.disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Remove big.iso' }));
    expect(send.disabled).toBe(false);
    vi.unstubAllGlobals();
  });
});

describe('what shows', () => {
  it('is not spaces, zero-width characters or a byte-order mark alone', () => {
    expect(showsSomething(' \n\u200B\u200D\uFEFF')).toBe(false);
    expect(showsSomething('a\u200B')).toBe(true);
    expect(showsSomething('👍')).toBe(true);
  });
});
