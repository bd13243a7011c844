/** A task id where it is shown (worker cards, worker lines): a link to its run when it can be one. */
import { href } from '../router.ts';

export function TaskRef({ id, class: className, testId }: { id: string; class: string; testId?: string }) {
  const to = href.task(id);
  if (to === null) {
    return (
      <span class={className} title={`task ${id} (not a run id)`} data-testid={testId}>
        {id}
      </span>
    );
  }
  return (
    <a class={className} href={to} title={`task ${id}`} data-testid={testId}>
      {id}
    </a>
  );
}
