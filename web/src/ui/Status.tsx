// A run's or step's status as a coloured badge (colours in styles.css, one per status).
export function Status({ status }: { status: string | null | undefined }) {
  if (!status) return <span className="status status-none">—</span>;
  return (
    <span className={`status status-${status.toLowerCase()}`} data-status={status}>
      {status}
    </span>
  );
}

export const TERMINAL_RUN = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);
