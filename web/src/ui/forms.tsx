// Form parts shared by every screen: a labelled field with its error, and reading an API
// refusal into field errors and a message for the whole form.

import { useId, type InputHTMLAttributes, type TextareaHTMLAttributes } from 'react';
import { ApiError } from '../api/client';

export interface FormProblem {
  /** Errors per field, keyed by the request body's field names. */
  fields: Record<string, string>;
  /** An error about the whole form, when not only fields are wrong. */
  message: string | null;
}

export const NO_PROBLEM: FormProblem = { fields: {}, message: null };

/** An error thrown by a submit, as a form shows it. */
export function formProblem(error: unknown): FormProblem {
  if (!error) return NO_PROBLEM;
  if (error instanceof ApiError) {
    const fields = { ...error.fields };
    const hasFields = Object.keys(fields).length > 0;
    return { fields, message: hasFields ? null : error.message };
  }
  return { fields: {}, message: 'Something went wrong. Please try again.' };
}

type FieldProps = {
  label: string;
  name: string;
  error?: string | undefined;
  hint?: string;
} & (
  | ({ multiline?: false } & InputHTMLAttributes<HTMLInputElement>)
  | ({ multiline: true } & TextareaHTMLAttributes<HTMLTextAreaElement>)
);

export function Field({ label, name, error, hint, multiline, ...control }: FieldProps) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  const shared = {
    id,
    name,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': describedBy,
  };
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {multiline ? (
        <textarea {...shared} {...(control as TextareaHTMLAttributes<HTMLTextAreaElement>)} />
      ) : (
        <input {...shared} {...(control as InputHTMLAttributes<HTMLInputElement>)} />
      )}
      {hint && (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      )}
      {error && (
        <p id={errorId} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

export function FormError({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p role="alert" className="form-error">
      {message}
    </p>
  );
}

interface DialogActionsProps {
  onCancel: () => void;
  cancelLabel?: string;
  /** The action's button, and what it says while the action runs. */
  label: string;
  busyLabel: string;
  busy: boolean;
  tone?: 'primary' | 'danger';
  /** Without it the action submits the form around it. */
  onAction?: () => void;
}

/** The buttons at the foot of a dialog: a way out, and the action. */
export function DialogActions({
  onCancel,
  cancelLabel = 'Cancel',
  label,
  busyLabel,
  busy,
  tone = 'primary',
  onAction,
}: DialogActionsProps) {
  return (
    <div className="dialog-actions">
      <button type="button" className="button" onClick={onCancel}>
        {cancelLabel}
      </button>
      <button
        type={onAction ? 'button' : 'submit'}
        className={`button ${tone}`}
        disabled={busy}
        onClick={onAction}
      >
        {busy ? busyLabel : label}
      </button>
    </div>
  );
}
