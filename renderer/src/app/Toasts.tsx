// Transient error messages for failures that have no better place on screen (feature errors are shown in place).
import { useCallback, useMemo, useRef, useState } from 'react';

export interface Toast {
  id: number;
  message: string;
}

export function useToasts() {
  const [list, setList] = useState<Toast[]>([]);
  const next = useRef(1);
  const remove = useCallback((id: number) => setList((l) => l.filter((t) => t.id !== id)), []);
  const push = useCallback(
    (message: string) => {
      const id = next.current++;
      setList((l) => [...l.slice(-4), { id, message }]);
      setTimeout(() => remove(id), 10_000);
    },
    [remove],
  );
  return useMemo(() => ({ list, push, remove }), [list, push, remove]);
}

export function Toasts(props: { toasts: ReturnType<typeof useToasts> }) {
  const { list, remove } = props.toasts;
  if (list.length === 0) return null;
  return (
    <div className="toasts" role="alert" aria-live="assertive" data-testid="toasts">
      {list.map((t) => (
        <div key={t.id} className="toast" data-testid="toast">
          <span>{t.message}</span>
          <button type="button" className="btn btn-small" onClick={() => remove(t.id)} aria-label="Dismiss">
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
