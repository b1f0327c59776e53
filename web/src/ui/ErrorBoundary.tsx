// The last line against a blank page: anything a page throws while rendering — most often a
// page's code that cannot be downloaded because the server is down — is shown as a problem in
// words with a way out.
import { Component, type ReactNode } from 'react';
import { Problem } from './errors.tsx';

const CHUNK_FAILED = /dynamically imported module|Importing a module script failed|Failed to fetch/i;

export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    // A failed download stays failed in this document (React keeps the rejected import), so
    // retrying means loading the page again.
    const retry = () => location.reload();
    if (CHUNK_FAILED.test(error.message))
      return <Problem error={{ code: 'NETWORK_ERROR', message: error.message }} retry={retry} />;
    return <Problem error={{ code: 'UNKNOWN', message: `This page failed: ${error.message}` }} retry={retry} />;
  }
}
