// Small form controls the pages share.
import { useLocation, useSearch } from 'wouter';

/** The page's query-string parameters, and a setter that navigates (filters live in the URL so links can be shared). */
export function useUrlParams(path: string): [URLSearchParams, (key: string, value: string, replace?: boolean) => void] {
  const params = new URLSearchParams(useSearch());
  const [, navigate] = useLocation();
  const set = (key: string, value: string, replace = false) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    navigate(`${path}${next.size ? `?${next}` : ''}`, { replace });
  };
  return [params, set];
}

/** A labelled <select>; `options` are [value, text] pairs, with "any" (empty value) first when `any` is set. */
export function Select({
  label,
  value,
  options,
  onChange,
  any = false,
  prefix,
}: {
  label: string;
  value: string | number;
  options: readonly (readonly [string | number, string])[];
  onChange: (value: string) => void;
  any?: boolean;
  prefix?: string;
}) {
  return (
    <label>
      {prefix ?? label}{' '}
      <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
        {any ? <option value="">any</option> : null}
        {options.map(([optionValue, text]) => (
          <option key={optionValue} value={optionValue}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A form's submit and cancel buttons. */
export function SubmitCancel({
  busy,
  label,
  busyLabel,
  onCancel,
}: {
  busy: boolean;
  label: string;
  busyLabel: string;
  onCancel: () => void;
}) {
  return (
    <div className="actions">
      <button type="submit" disabled={busy}>
        {busy ? busyLabel : label}
      </button>
      <button type="button" className="quiet" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}
