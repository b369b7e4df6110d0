// A small pop-up menu: a button that opens it (`aria-expanded`), closed when an item is
// chosen, on Escape (focus back on the button) and on a click elsewhere.

import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

interface MenuProps {
  /** What the button shows. */
  button: ReactNode;
  /** The button's class (its look). */
  buttonClass: string;
  /** The menu's accessible name, also the button's when it shows only an icon. */
  label: string;
  /** Name the button with `label` (for an icon-only button). */
  labelButton?: boolean;
  className?: string;
  children: ReactNode;
}

export function Menu({ button, buttonClass, label, labelButton = false, className, children }: MenuProps) {
  const [open, setOpen] = useState(false);
  const anchor = useRef<HTMLDivElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);
  const menuId = useId();

  useEffect(() => {
    if (!open) return;
    const onPointer = (event: PointerEvent) => {
      if (!anchor.current?.contains(event.target as Node)) setOpen(false);
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      setOpen(false);
      toggle.current?.focus();
    };
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  return (
    <div ref={anchor} className={`menu-anchor ${className ?? ''}`}>
      <button
        ref={toggle}
        type="button"
        className={buttonClass}
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        aria-label={labelButton ? label : undefined}
        title={labelButton ? label : undefined}
        onClick={() => setOpen((was) => !was)}
      >
        {button}
      </button>
      {open && (
        <div
          id={menuId}
          className="menu"
          role="group"
          aria-label={label}
          onClick={(event) => {
            if ((event.target as HTMLElement).closest('button')) setOpen(false);
          }}
        >
          {children}
        </div>
      )}
    </div>
  );
}
