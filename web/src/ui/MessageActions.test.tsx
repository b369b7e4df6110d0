// @vitest-environment jsdom
import { QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createQueryClient } from '../api/queries';
import { message } from '../test/frames';
import { MessageEditor, MessageMenu } from './MessageActions';

const fetchMock = vi.fn<typeof fetch>(async (_input, init) => {
  const body = init?.body ? (JSON.parse(String(init.body)) as { content?: string }) : {};
  return new Response(JSON.stringify({ ...message(4), content: body.content ?? '' }), { status: 200 });
});

beforeEach(() => vi.stubGlobal('fetch', fetchMock));
afterEach(() => {
  cleanup();
  fetchMock.mockClear();
  vi.unstubAllGlobals();
});

function renderEditor(maxChars = 4000) {
  const onDone = vi.fn();
  render(
    <QueryClientProvider client={createQueryClient()}>
      <MessageEditor message={message(4, { content: 'helo' })} maxChars={maxChars} onDone={onDone} />
    </QueryClientProvider>,
  );
  return { onDone, box: screen.getByLabelText('Edit message') as HTMLTextAreaElement };
}

describe('editing a message in place', () => {
  it('saves with Enter through PUT /api/messages/{id}', async () => {
    const { onDone, box } = renderEditor();
    expect(box.value).toBe('helo');
    fireEvent.change(box, { target: { value: 'hello' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(String(url)).toContain(`/api/messages/${message(4).id}`);
    expect(init?.method).toBe('PUT');
    expect(JSON.parse(String(init?.body))).toEqual({ content: 'hello' });
  });

  it('leaves with Escape, and saves nothing unchanged or blank', () => {
    const { onDone, box } = renderEditor();
    fireEvent.change(box, { target: { value: '   ' } });
    expect((screen.getByRole('button', { name: 'Save' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.keyDown(box, { key: 'Enter' });
    fireEvent.keyDown(box, { key: 'Escape' });
    expect(onDone).toHaveBeenCalledTimes(1);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('refuses more characters than the server takes', () => {
    const { box } = renderEditor(3);
    fireEvent.change(box, { target: { value: 'four' } });
    expect(screen.getByText('At most 3 characters.')).toBeTruthy();
  });
});

describe('the message menu', () => {
  it('offers only what the user may do, and deletes after a confirmation', async () => {
    const onEdit = vi.fn();
    render(
      <QueryClientProvider client={createQueryClient()}>
        <MessageMenu message={message(4)} actions={{ edit: false, delete: true }} onEdit={onEdit} />
      </QueryClientProvider>,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Message actions' }));
    expect(screen.queryByRole('button', { name: 'Edit' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Delete…' }));
    fireEvent.click(screen.getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(fetchMock).toHaveBeenCalled());
    expect(fetchMock.mock.calls[0]![1]?.method).toBe('DELETE');
  });
});
