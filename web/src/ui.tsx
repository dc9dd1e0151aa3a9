import {
  useCallback,
  useEffect,
  useRef,
  useState,
  type AnchorHTMLAttributes,
  type DependencyList,
  type MouseEvent,
  type ReactNode,
} from 'react';
import type { ApiError } from './api.js';
import { navigate } from './router.js';

/** A call's state: loading, its answer, or the error to show. */
export type Resource<T> =
  { status: 'loading' } | { status: 'ok'; data: T } | { status: 'error'; error: ApiError | Error };

/** Runs `load` when `deps` change (cancelling the previous run); `reload` runs it again. */
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: DependencyList,
): Resource<T> & { reload: () => void; set: (data: T) => void } {
  const [state, setState] = useState<Resource<T>>({ status: 'loading' });
  const [round, setRound] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    setState({ status: 'loading' });
    load(abort.signal).then(
      (data) => {
        if (!abort.signal.aborted) setState({ status: 'ok', data });
      },
      (error: unknown) => {
        if (abort.signal.aborted) return;
        setState({
          status: 'error',
          error: error instanceof Error ? error : new Error(String(error)),
        });
      },
    );
    return () => {
      abort.abort();
    };
  }, [...deps, round]);
  const reload = useCallback(() => {
    setRound((r) => r + 1);
  }, []);
  const set = useCallback((data: T) => {
    setState({ status: 'ok', data });
  }, []);
  return { ...state, reload, set };
}

/** A link inside the app: no reload, but a real href (open in a new tab, screen readers). */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }): ReactNode {
  const { href, onClick, ...rest } = props;
  const go = (event: MouseEvent<HTMLAnchorElement>): void => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={go} {...rest} />;
}

/** Announced to screen readers while a call runs. */
export function Loading({ what }: { what: string }): ReactNode {
  return (
    <p className="status" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

/** A failed call in words, with a way to try again. */
export function Failure({ error, retry }: { error: Error; retry?: () => void }): ReactNode {
  return (
    <div className="failure" role="alert">
      <p>{error.message}</p>
      {retry ? (
        <button type="button" onClick={retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** Nothing to show, said so. */
export function Empty({ children }: { children: ReactNode }): ReactNode {
  return <p className="empty">{children}</p>;
}

/** The page's heading, focused when the page changes so screen readers announce it. */
export function PageTitle({ children }: { children: ReactNode }): ReactNode {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
    document.title = `${typeof children === 'string' ? children : 'Emporium'} · Emporium`;
  }, [children]);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}

/** Renders a resource: loading, the error in words, or `children` with its data. */
export function Show<T>({
  resource,
  what,
  children,
}: {
  resource: Resource<T> & { reload: () => void };
  what: string;
  children: (data: T) => ReactNode;
}): ReactNode {
  if (resource.status === 'loading') return <Loading what={what} />;
  if (resource.status === 'error')
    return <Failure error={resource.error} retry={resource.reload} />;
  return children(resource.data);
}
