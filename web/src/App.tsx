export function App() {
  return <main>ccweb</main>;
}
