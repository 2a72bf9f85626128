import { createRoot } from 'react-dom/client';
import { App } from './ui/app';
import './styles.css';

createRoot(document.getElementById('root')!).render(
  <App />,
);
