import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import { loadSettings } from './settings.js';
import { startTracing } from './tracing.js';
import './styles.css';

const root = createRoot(document.getElementById('root') ?? document.body);

async function start(): Promise<void> {
  const settings = await loadSettings();
  if (settings.tracesUrl) startTracing(settings.tracesUrl, settings.environment);
  root.render(
    <StrictMode>
      <App settings={settings} />
    </StrictMode>,
  );
}

start().catch((error: unknown) => {
  // Without its settings the app cannot start: say so rather than show a blank page.
  root.render(
    <main id="main" className="fatal">
      <h1>The store cannot start</h1>
      <p role="alert">
        Its settings could not be loaded ({String(error)}). Check your connection and reload the
        page.
      </p>
    </main>,
  );
});
