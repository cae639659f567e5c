import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { getApi } from './api';
import { App } from './app/App';
import { AuthGate } from './accounts/AuthGate';
import './styles.css';

// Pick the transport (and take the web-mode token out of the address bar) before anything renders.
getApi();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <AuthGate>
      <App />
    </AuthGate>
  </StrictMode>,
);
