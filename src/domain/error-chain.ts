/**
 * errorChain answers an error and the errors of its `cause` chain, outermost
 * first, each once (drivers and libraries wrap the error that says what
 * happened, sometimes more than once, and a chain may loop).
 */
export function errorChain(error: unknown): Error[] {
  const chain: Error[] = [];
  for (let current = error; current instanceof Error && !chain.includes(current); current = current.cause) chain.push(current);
  return chain;
}
